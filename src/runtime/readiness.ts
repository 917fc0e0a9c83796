/**
 * Readiness for load balancers (GET /readyz): 200 only while this process can really serve a KMS request.
 * Liveness (/ping) is separate and never looks at dependencies, so a supervisor does not restart a process
 * for an HSM or Redis outage that a restart cannot fix.
 *
 * Two answers: the KMS-facing TLS port may be reached by anyone who can reach KMS's endpoint, and the health port
 * by the load balancer and whatever else shares its network, so both say only ready or not ready. Why, and which
 * process answered, is for operators: the health port asked from this host's loopback, the metrics (xksgate_ready
 * and the gauges of each dependency) and the log, which records every change of the reason.
 */
import type { FleetHealth } from '../health/fleet-health'
import type { HsmBackend } from '../hsm/types'
import type { Logger } from '../log'
import type { ReplayGuard } from '../replay/types'
import type { Probe } from '../server/frontend'
import type { XksHttpResponse } from '../xks/http-types'

/** starting → ready → draining → closed; only `ready` is ready. */
export type LifecycleState = 'starting' | 'ready' | 'draining' | 'closed'

export interface ReadinessSources {
  state: () => LifecycleState
  hsm: HsmBackend
  health: FleetHealth
  replay: ReplayGuard
  redisConfigured: boolean
  /** A deep health result older than this is stale. */
  maxHealthAgeMs: number
  /** Shown to the health port's loopback peers, so an operator can tell which process answered. */
  identity: { pid: number, worker: number }
}

export interface Readiness {
  /** For any peer (the TLS port, the health port from another address): status only. */
  publicProbe: Probe
  /** For the health port's loopback peers: status, reason, the HSM backends' states, pid and worker. */
  detailedProbe: Probe
  isReady: () => boolean
}

const READY: XksHttpResponse = { status: 200, body: '{"status":"ready"}' }
const NOT_READY: XksHttpResponse = { status: 503, body: '{"status":"not ready"}' }

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

export function createReadiness (s: ReadinessSources, log: Logger): Readiness {
  const { pid, worker } = s.identity
  // Readiness is computed when asked (probes, metric scrapes); each change of the reason is logged once then.
  let logged: string | undefined | null = null
  const reason = (): string | undefined => {
    const current = readinessReason(s)
    if (current !== logged) {
      logged = current
      if (current === undefined) log.info('readiness: ready')
      // Draining or closing is a planned stop, not a fault.
      else log[s.state() === 'ready' ? 'warn' : 'info']({ reason: current }, 'readiness: not ready')
    }
    return current
  }
  return {
    publicProbe: () => reason() === undefined ? READY : NOT_READY,
    detailedProbe: () => {
      const current = reason()
      // Each HSM backend's state: one of a pair down leaves the process ready (DEGRADED), and says which.
      const hsm = Object.fromEntries((s.health.latest()?.backends ?? []).map(b => [b.name, b.snapshot.status]))
      return current === undefined
        ? { status: 200, body: JSON.stringify({ status: 'ready', hsm, pid, worker }) }
        : { status: 503, body: JSON.stringify({ status: 'not ready', reason: current, hsm, pid, worker }) }
    },
    isReady: () => reason() === undefined,
  }
}
