/**
 * The EKM's health over every HSM backend: each backend has its own deep health check (health-monitor.ts), and
 * its circuit breaker (src/hsm/breaker.ts) may have taken it out since that check ran. GetHealthStatus reports
 * one `ekmFleetDetails` entry per backend (docs/xks-spec.md §5.4); the whole is ACTIVE when every backend is,
 * UNAVAILABLE when none can serve, and DEGRADED in between: KMS keeps sending while one HSM of a pair is down.
 */
import type { HealthMonitor, HealthSnapshot, EkmHealthStatus } from './health-monitor'

export interface BackendHealth {
  name: string
  snapshot: HealthSnapshot
}

export interface FleetSnapshot extends HealthSnapshot {
  /** One per backend, in configuration order. */
  backends: BackendHealth[]
}

export interface FleetMember {
  name: string
  monitor: HealthMonitor
  /** Why the backend's circuit breaker holds it out of the routing; undefined while it is in. */
  outReason: () => string | undefined
}

export class FleetHealth {
  constructor (private readonly members: readonly FleetMember[]) {}

  /** Runs every backend's first check, then keeps checking each in the background. */
  async start (): Promise<FleetSnapshot> {
    await Promise.all(this.members.map(async m => await m.monitor.start()))
    return this.latest() as FleetSnapshot
  }

  stop (): void {
    for (const m of this.members) m.monitor.stop()
  }

  /** Undefined until every backend has a result. */
  latest (): FleetSnapshot | undefined {
    const snapshots = this.members.map(m => m.monitor.latest())
    if (snapshots.some(s => s === undefined)) return undefined
    return this.#combine(snapshots as HealthSnapshot[])
  }

  /** Results no older than maxAgeMs, checking the backends whose result is older. */
  async current (maxAgeMs = 60_000): Promise<FleetSnapshot> {
    return this.#combine(await Promise.all(this.members.map(async m => await m.monitor.current(maxAgeMs))))
  }

  #combine (snapshots: HealthSnapshot[]): FleetSnapshot {
    const backends = this.members.map((m, i) => ({ name: m.name, snapshot: this.#withBreaker(m, snapshots[i]) }))
    const statuses = backends.map(b => b.snapshot.status)
    const status: EkmHealthStatus = statuses.every(s => s === 'ACTIVE')
      ? 'ACTIVE'
      : statuses.every(s => s === 'UNAVAILABLE') ? 'UNAVAILABLE' : 'DEGRADED'
    const troubled = backends.filter(b => b.snapshot.status !== 'ACTIVE')
    const reason = troubled.length === 0
      ? undefined
      : troubled.map(b => `${b.name}: ${b.snapshot.status}${b.snapshot.reason === undefined ? '' : ` (${b.snapshot.reason})`}`).join('; ')
    return {
      status,
      // The oldest of the checks: the whole is only as fresh as its stalest part.
      checkedAt: Math.min(...snapshots.map(s => s.checkedAt)),
      latencyMs: Math.max(...snapshots.map(s => s.latencyMs)),
      reason,
      token: snapshots.find(s => s.token !== undefined)?.token,
      backends,
    }
  }

  /** A backend its breaker holds out is UNAVAILABLE, whatever its last deep check (up to an interval old) said. */
  #withBreaker (m: FleetMember, snapshot: HealthSnapshot): HealthSnapshot {
    const out = m.outReason()
    if (out === undefined || snapshot.status === 'UNAVAILABLE') return snapshot
    return { ...snapshot, status: 'UNAVAILABLE', reason: `taken out after failures: ${out}` }
  }
}
