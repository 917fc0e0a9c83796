/**
 * The deep health check behind GetHealthStatus (spec §GetHealthStatus): a real encrypt and decrypt on a dedicated
 * test key, run in the background so KMS's health poll never waits for the HSM. A cached result is at most
 * `maxAgeMs` old (the spec allows one minute); an older one is refreshed before answering.
 */
import crypto from 'node:crypto'
import type { HsmBackend, HsmFailure, TokenInfo } from '../hsm/types'
import type { Logger } from '../log'
import { buildGcmAad } from '../xks/gcm-aad'

export type EkmHealthStatus = 'ACTIVE' | 'DEGRADED' | 'UNAVAILABLE'

export interface HealthSnapshot {
  status: EkmHealthStatus
  /** Wall clock (ms) when the check finished. */
  checkedAt: number
  latencyMs: number
  /** Why the status is not ACTIVE; for logs and /readyz. */
  reason?: string
  /** The last token info seen, kept across failed checks so the fleet details stay stable. */
  token?: TokenInfo
}

export interface HealthMonitorOptions {
  hsm: HsmBackend
  keyLabel: string
  intervalMs: number
  degradedLatencyMs: number
  timeoutMs: number
  /** Sessions the pool should have open; fewer means DEGRADED. */
  expectedSessions: number
  log: Logger
  /** Fields on the log line of a change of state (e.g. which backend). */
  logFields?: Record<string, string>
  /** Every finished check, e.g. for the backend's circuit breaker. */
  onResult?: (snapshot: HealthSnapshot) => void
}

const PROBE_BYTES = 32
/** The GCM AAD of a request without AAD or metadata, as the XKS core builds it. */
const NO_AAD = buildGcmAad(Buffer.alloc(0), Buffer.alloc(0))

export class HealthMonitor {
  #latest: HealthSnapshot | undefined
  #running: Promise<HealthSnapshot> | undefined
  #timer: NodeJS.Timeout | undefined

  constructor (private readonly options: HealthMonitorOptions) {}

  /** Runs the first check, then keeps checking every intervalMs. */
  async start (): Promise<HealthSnapshot> {
    const first = await this.check()
    this.#timer = setInterval(() => { void this.check() }, this.options.intervalMs)
    this.#timer.unref()
    return first
  }

  stop (): void {
    clearInterval(this.#timer)
  }

  latest (): HealthSnapshot | undefined {
    return this.#latest
  }

  /** A result no older than maxAgeMs, checking now if the cached one is too old. */
  async current (maxAgeMs = 60_000): Promise<HealthSnapshot> {
    const latest = this.#latest
    if (latest !== undefined && Date.now() - latest.checkedAt <= maxAgeMs) return latest
    return await this.check()
  }

  /** One deep check; concurrent callers share it. */
  check (): Promise<HealthSnapshot> {
    this.#running ??= this.#probe().finally(() => { this.#running = undefined })
    return this.#running
  }

  async #probe (): Promise<HealthSnapshot> {
    const { hsm, keyLabel, timeoutMs } = this.options
    const started = performance.now()
    const deadline = Date.now() + timeoutMs
    const token = await hsm.tokenInfo(deadline)
    const plaintext = crypto.randomBytes(PROBE_BYTES)
    const encrypted = await hsm.encrypt({ keyLabel, plaintext, gcmAad: NO_AAD, deadline })
    let failure = !token.ok ? token.failure : !encrypted.ok ? encrypted.failure : undefined
    if (encrypted.ok) {
      const { ciphertext, tag, iv } = encrypted.value
      const decrypted = await hsm.decrypt({ keyLabel, ciphertext, tag, iv, gcmAad: NO_AAD, deadline })
      if (!decrypted.ok) failure = decrypted.failure
      else if (!decrypted.value.plaintext.equals(plaintext)) failure = { kind: 'Internal', message: 'health probe decrypted to different bytes' }
    }
    const latencyMs = performance.now() - started
    const snapshot = this.#judge(latencyMs, failure, token.ok ? token.value : this.#latest?.token)
    this.#record(snapshot)
    return snapshot
  }

  #judge (latencyMs: number, failure: HsmFailure | undefined, token: TokenInfo | undefined): HealthSnapshot {
    const base = { checkedAt: Date.now(), latencyMs, token }
    // Overloaded: the probe queued behind the load in this proxy and was never sent. The HSM is at its capacity,
    // not failing; UNAVAILABLE would take a busy backend out of the routing and tell KMS the store is down.
    if (failure?.kind === 'Overloaded') return { ...base, status: 'DEGRADED', reason: `the HSM is at its capacity: ${failure.message}` }
    if (failure !== undefined) return { ...base, status: 'UNAVAILABLE', reason: failure.message }
    const { sessionsOpen } = this.options.hsm.stats()
    if (sessionsOpen < this.options.expectedSessions) {
      return { ...base, status: 'DEGRADED', reason: `${sessionsOpen} of ${this.options.expectedSessions} HSM sessions open` }
    }
    if (latencyMs > this.options.degradedLatencyMs) {
      return { ...base, status: 'DEGRADED', reason: `health probe took ${Math.round(latencyMs)} ms` }
    }
    return { ...base, status: 'ACTIVE' }
  }

  #record (snapshot: HealthSnapshot): void {
    const previous = this.#latest?.status
    this.#latest = snapshot
    if (previous !== snapshot.status) {
      const level = snapshot.status === 'ACTIVE' ? 'info' : 'warn'
      this.options.log[level]({ event: 'ekm_health', ...this.options.logFields, status: snapshot.status, previous, reason: snapshot.reason }, 'EKM health changed')
    }
    this.options.onResult?.(snapshot)
  }
}
