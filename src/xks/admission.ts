/**
 * Admission: the cheap checks that refuse a request with 429 ThrottlingException (retryable for KMS) before
 * SigV4 or any other work (docs/xks-spec.md §7.4 step 3 may precede step 2), in this order (docs/authorization.md "Shedding
 * order"):
 *   1. quota: the key store's token bucket is empty (./quota.ts);
 *   2. late: under half of the request's budget is left before it even starts (its body came in slowly behind
 *      a saturated event loop, and the rest of its path will be slow too);
 *   3. overload: `maxInFlight` requests are in progress in this process;
 *   4. hsm backlog: the HSM queue's estimated wait (./hsm-backlog.ts) exceeds half of the HSM budget, or what is
 *      left of the request's: past the HSM's capacity a request gets its 429 at once, instead of queueing into a
 *      late 429 or a 503 and making every request served behind it slow.
 * GetHealthStatus is answered from the cached deep check: it spends no quota and waits for no HSM, so only 2 and 3
 * apply to it. A request refused at 2-4 gets its token back, and so does one that then fails authentication:
 * requests nobody signed cannot use up a key store's quota.
 */
import type { HsmBacklog } from './hsm-backlog'
import type { TokenBucket } from './quota'
import type { XksOperation } from './routes'

export type ShedReason = 'quota' | 'late' | 'overload' | 'hsm backlog'

export interface AdmissionOptions {
  maxInFlight: number
  /** The whole request's budget (server.requestTimeoutMs). */
  requestTimeoutMs: number
  /** The HSM operation's own bound (hsm.opTimeoutMs). */
  hsmTimeoutMs: number
  /** Deadline-aware admission; without it step 4 is skipped. */
  backlog?: HsmBacklog
}

/** What admission needs of a key store. */
export interface Quota { quota?: TokenBucket }

/**
 * A request with less than this share of its budget left when the pipeline starts is shed. Normally one
 * arrives with all but a millisecond of it; only a saturated event loop makes requests this late.
 */
const LATE_SHARE = 0.5
/**
 * A request is admitted behind an HSM queue whose estimated wait is at most this share of the HSM budget: the
 * estimate errs (0.65-1.5× the real drain in test/integration/hsm-backlog.test.ts), and a queue allowed to fill
 * the whole budget made every request served behind it wait that long and ended the estimate's misses as late
 * 429s and 503s (docs/authorization.md "Shedding order").
 */
const HSM_WAIT_SHARE = 0.5

export class Admission {
  #inFlight = 0
  #rejected = 0
  readonly #lateBelowMs: number

  constructor (private readonly options: AdmissionOptions) {
    this.#lateBelowMs = options.requestTimeoutMs * LATE_SHARE
  }

  /** Takes a slot (and a token) for the request, or says why it is refused. `remainingMs`: its budget left. */
  admit (store: Quota, operation: XksOperation, remainingMs: number): ShedReason | undefined {
    const hsmWork = operation !== 'health'
    const bucket = hsmWork ? store.quota : undefined
    if (bucket !== undefined && !bucket.take(performance.now())) return this.#refuse('quota', undefined)
    if (remainingMs < this.#lateBelowMs) return this.#refuse('late', bucket)
    if (this.#inFlight >= this.options.maxInFlight) return this.#refuse('overload', bucket)
    const backlog = this.options.backlog
    if (hsmWork && backlog !== undefined && backlog.waitMs(performance.now()) > Math.min(remainingMs, this.options.hsmTimeoutMs * HSM_WAIT_SHARE)) {
      return this.#refuse('hsm backlog', bucket)
    }
    this.#inFlight++
    return undefined
  }

  leave (): void {
    this.#inFlight--
  }

  /** The request did not count against its key store's quota after all (it failed authentication). */
  refund (store: Quota, operation: XksOperation): void {
    if (operation !== 'health') store.quota?.refund()
  }

  get inFlight (): number {
    return this.#inFlight
  }

  get rejected (): number {
    return this.#rejected
  }

  #refuse (reason: ShedReason, bucket: TokenBucket | undefined): ShedReason {
    bucket?.refund()
    this.#rejected++
    return reason
  }
}
