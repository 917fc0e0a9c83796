/**
 * Timing wrappers that keep src/hsm and src/replay unaware of metrics: the HSM backend and the replay guard are
 * wrapped once at startup.
 */
import type { HsmBackend, HsmOutcome } from '../hsm/types'
import type { ReplayGuard, ReplayVerdict } from '../replay/types'
import type { ProcessMetrics } from './process-metrics'

export function instrumentHsm (hsm: HsmBackend, metrics: ProcessMetrics): HsmBackend {
  // One .then per operation, not an async wrapper: this runs for every HSM call on the request path.
  const timed = <T>(operation: string, pending: Promise<HsmOutcome<T>>): Promise<HsmOutcome<T>> => {
    const started = performance.now()
    return pending.then(outcome => {
      metrics.observeHsm(operation, outcome.ok, (performance.now() - started) / 1000)
      return outcome
    })
  }
  return {
    encrypt: req => timed('encrypt', hsm.encrypt(req)),
    decrypt: req => timed('decrypt', hsm.decrypt(req)),
    describeKey: (label, deadline) => timed('describeKey', hsm.describeKey(label, deadline)),
    tokenInfo: deadline => timed('tokenInfo', hsm.tokenInfo(deadline)),
    stats: () => hsm.stats(),
    close: async () => await hsm.close(),
  }
}

/** A replay and a duplicate of a request in flight are both refusals of a signature already claimed. */
function count (verdict: ReplayVerdict, metrics: ProcessMetrics): ReplayVerdict {
  if (verdict === 'replay' || verdict === 'in-flight') metrics.replayHit()
  return verdict
}

export function instrumentReplay (guard: ReplayGuard, metrics: ProcessMetrics): ReplayGuard {
  return {
    checkAndRecord: (scope, signature, expiresAtMs, inFlightUntilMs) => {
      const verdict = guard.checkAndRecord(scope, signature, expiresAtMs, inFlightUntilMs)
      if (typeof verdict !== 'string') return verdict.then(v => count(v, metrics))
      return count(verdict, metrics)
    },
    settle: (scope, signature, served) => guard.settle(scope, signature, served),
    status: () => guard.status(),
    localStats: () => guard.localStats(),
    close: async () => await guard.close(),
  }
}
