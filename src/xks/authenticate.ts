/**
 * Authentication stage: SigV4 against the key store's own credentials (docs/xks-spec.md §8), then replay
 * protection: a signature is accepted once, until it would fail the clock-skew check anyway.
 */
import type { ReplayGuard, ReplayVerdict } from '../replay/types'
import { XksError } from './errors'
import type { KeyStore } from './key-stores'
import type { XksHttpRequest } from './http-types'
import type { SigV4Principal } from './sigv4'

const REPLAYED = 'This request signature was already used; each signed request is accepted once.'

export class Authenticator {
  constructor (private readonly maxSkewSeconds: number, private readonly replay: ReplayGuard) {}

  /** The principal, synchronously when the replay check needs no I/O (the in-process cache). */
  authenticate (store: KeyStore, req: XksHttpRequest): SigV4Principal | Promise<SigV4Principal> {
    const principal = store.sigv4.verify(req, Date.now())
    // After amzDate + skew the signature fails verification anyway, so it need not be remembered longer.
    const verdict = this.replay.checkAndRecord(store, principal.signature, principal.amzDateMs + this.maxSkewSeconds * 1000)
    return typeof verdict === 'string' ? admit(verdict, principal) : verdict.then(v => admit(v, principal))
  }
}

function admit (verdict: ReplayVerdict, principal: SigV4Principal): SigV4Principal {
  if (verdict === 'replay') throw new XksError('AuthenticationFailedException', REPLAYED, 'replay')
  return principal
}
