/**
 * Timing wrappers that keep src/hsm and src/replay unaware of metrics: the HSM backend and the replay guard are
 * wrapped once at startup.
 */
import type { HsmBackend, HsmOutcome } from '../hsm/types'
import type { ReplayGuard, ReplayVerdict } from '../replay/types'
import type { ProcessMetrics } from './process-metrics'

export function instrumentHsm (hsm: HsmBackend, metrics: ProcessMetrics): HsmBackend {
  const timed = async <T>(operation: string, run: () => Promise<HsmOutcome<T>>): Promise<HsmOutcome<T>> => {
    const started = performance.now()
    const outcome = await run()
    metrics.observeHsm(operation, outcome.ok, (performance.now() - started) / 1000)
    return outcome
  }
  return {
    encrypt: async req => await timed('encrypt', async () => await hsm.encrypt(req)),
    decrypt: async req => await timed('decrypt', async () => await hsm.decrypt(req)),
    describeKey: async (label, deadline) => await timed('describeKey', async () => await hsm.describeKey(label, deadline)),
    tokenInfo: async deadline => await timed('tokenInfo', async () => await hsm.tokenInfo(deadline)),
    stats: () => hsm.stats(),
    close: async () => await hsm.close(),
  }
}

function count (verdict: ReplayVerdict, metrics: ProcessMetrics): ReplayVerdict {
  if (verdict === 'replay') metrics.replayHit()
  return verdict
}

export function instrumentReplay (guard: ReplayGuard, metrics: ProcessMetrics): ReplayGuard {
  return {
    checkAndRecord: (scope, signature, expiresAtMs) => {
      const verdict = guard.checkAndRecord(scope, signature, expiresAtMs)
      if (typeof verdict !== 'string') return verdict.then(v => count(v, metrics))
      return count(verdict, metrics)
    },
    status: () => guard.status(),
    localStats: () => guard.localStats(),
    close: async () => await guard.close(),
  }
}
