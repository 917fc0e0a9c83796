/**
 * Readiness for load balancers (GET /readyz): 200 only while this process can really serve a KMS request.
 * Liveness (/ping) is separate and never looks at dependencies, so a supervisor does not restart a process
 * for an HSM or Redis outage that a restart cannot fix.
 */
import type { HealthMonitor } from '../health/health-monitor'
import type { HsmBackend } from '../hsm/types'
import type { ReplayGuard } from '../replay/types'
import type { XksHttpResponse } from '../xks/http-types'

/** starting → ready → draining → closed (STYLE lesson 5); only `ready` is ready. */
export type LifecycleState = 'starting' | 'ready' | 'draining' | 'closed'

export interface ReadinessSources {
  state: () => LifecycleState
  hsm: HsmBackend
  health: HealthMonitor
  replay: ReplayGuard
  redisConfigured: boolean
  /** A deep health result older than this is stale. */
  maxHealthAgeMs: number
  /** Shown in the body, so an operator can tell which process answered. */
  identity: { pid: number, worker: number }
}

export function readinessReason (s: ReadinessSources): string | undefined {
  const state = s.state()
  if (state !== 'ready') return `process is ${state}`
  if (s.hsm.stats().sessionsOpen === 0) return 'no HSM session open'
  const latest = s.health.latest()
  if (latest === undefined) return 'no deep health result yet'
  if (Date.now() - latest.checkedAt > s.maxHealthAgeMs) return `deep health result is ${Math.round((Date.now() - latest.checkedAt) / 1000)} s old`
  if (latest.status === 'UNAVAILABLE') return `EKM unavailable: ${latest.reason ?? 'unknown'}`
  if (s.redisConfigured) {
    const replay = s.replay.status()
    if (replay.degraded) return `Redis unreachable: ${replay.reason ?? 'unknown'}`
  }
  return undefined
}

export function readinessProbe (s: ReadinessSources): () => XksHttpResponse {
  const { pid, worker } = s.identity
  return () => {
    const reason = readinessReason(s)
    return reason === undefined
      ? { status: 200, body: JSON.stringify({ status: 'ready', pid, worker }) }
      : { status: 503, body: JSON.stringify({ status: 'not ready', reason, pid, worker }) }
  }
}
