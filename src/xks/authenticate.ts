/**
 * Authentication stage: SigV4 against the key store's own credentials (docs/xks-spec.md §8), then replay
 * protection: a signature is executed once, unless its first attempt was not served (docs/operations.md "Replay: retries and
 * repeats"), until it would fail the clock-skew check anyway.
 */
import type { ReplayGuard, ReplayVerdict } from '../replay/types'
import { isRetryableStatus, XksError } from './errors'
import type { KeyStore } from './key-stores'
import type { XksHttpRequest } from './http-types'
import type { SigV4Principal } from './sigv4'
import { AuthenticationFailure } from './sigv4-parse'

const REPLAYED = 'This request signature was already used; each signed request is accepted once.'
const IN_FLIGHT = 'A request with this signature is still being answered; retry later.'

/**
 * How long after its request budget a first attempt still counts as in flight for the other processes of the
 * fleet. Its answer has gone out by its budget, but a stalled event loop or a slow Redis can delay the write
 * that lets it be presented again; a KMS retry with the same signature comes within the second it was signed in,
 * so this margin covers it, while a replay after it is refused as such (401).
 */
export const IN_FLIGHT_MARGIN_MS = 1000

/**
 * A duplicate of a request whose first attempt is still being answered: 503 DependencyTimeoutException, which
 * KMS retries (docs/xks-spec.md §7.3), and not 401, which KMS reports as a wrong credential. It is never executed.
 */
export class SignatureInFlight extends XksError {
  constructor (readonly accessKeyId: string) {
    super('DependencyTimeoutException', IN_FLIGHT, 'replay: in flight')
  }
}

/** The signature a first attempt claimed: settled once its answer is written or dropped. */
export interface SignatureClaim { store: KeyStore, signature: string }

export class Authenticator {
  /** `requestTimeoutMs`: server.requestTimeoutMs, by when a request has been answered. */
  constructor (private readonly maxSkewSeconds: number, private readonly replay: ReplayGuard, private readonly requestTimeoutMs: number) {}

  /**
   * The principal, synchronously when the replay check needs no I/O (the in-process cache). A first attempt
   * calls `claimed`, and its caller must then `settle` the claim.
   */
  authenticate (store: KeyStore, req: XksHttpRequest, claimed: (claim: SignatureClaim) => void): SigV4Principal | Promise<SigV4Principal> {
    const principal = store.sigv4.verify(req, Date.now())
    // After amzDate + skew the signature fails verification anyway, so it need not be remembered longer.
    const expiresAtMs = principal.amzDateMs + this.maxSkewSeconds * 1000
    const inFlightUntilMs = req.receivedAt + this.requestTimeoutMs + IN_FLIGHT_MARGIN_MS
    const verdict = this.replay.checkAndRecord(store, principal.signature, expiresAtMs, inFlightUntilMs)
    const admit = (v: ReplayVerdict): SigV4Principal => {
      if (v === 'fresh') claimed({ store, signature: principal.signature })
      else if (v === 'replay') throw new AuthenticationFailure(REPLAYED, principal.accessKeyId)
      else if (v === 'in-flight') throw new SignatureInFlight(principal.accessKeyId)
      return principal
    }
    return typeof verdict === 'string' ? admit(verdict) : verdict.then(admit)
  }

  /** `served`: the answer reached the connection and was not one KMS retries. */
  settle (claim: SignatureClaim, served: boolean): void {
    this.replay.settle(claim.store, claim.signature, served)
  }
}

/**
 * One request's part in the replay rules: the claim its authentication made, if any, and what became of its
 * answer. Either may come first: the request budget can run out while the replay check still waits for Redis,
 * and the claim then comes after the 503 went out (and is settled as not served, since the work that goes on is
 * never delivered).
 */
export class ClaimSettlement {
  #claim: SignatureClaim | undefined
  #served: boolean | undefined

  constructor (private readonly authenticator: Authenticator) {}

  readonly claimed = (claim: SignatureClaim): void => {
    this.#claim = claim
    if (this.#served !== undefined) this.authenticator.settle(claim, this.#served)
  }

  /** The frontend wrote the answer (`written`) or dropped it; `status` is the answer's. */
  answered (status: number, written: boolean): void {
    if (this.#served !== undefined) return
    this.#served = written && !isRetryableStatus(status)
    if (this.#claim !== undefined) this.authenticator.settle(this.#claim, this.#served)
  }
}
