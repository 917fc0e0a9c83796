/**
 * Authentication stage: SigV4 against the key store's own credentials (digest §8), then replay protection: a
 * signature is accepted once, until it would fail the clock-skew check anyway.
 */
import type { ReplayGuard } from '../replay/types'
import { XksError } from './errors'
import type { KeyStore } from './key-stores'
import type { XksHttpRequest } from './http-types'
import { CompiledSigV4Policy, type SigV4Principal } from './sigv4'

export class Authenticator {
  readonly #policies: Map<string, CompiledSigV4Policy>

  constructor (stores: readonly KeyStore[], private readonly maxSkewSeconds: number, private readonly replay: ReplayGuard) {
    this.#policies = new Map(stores.map(store => [store.name, new CompiledSigV4Policy({
      credentials: store.config.credentials.map(c => ({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey.reveal() })),
      allowedRegions: store.config.allowedRegions,
      maxSkewSeconds,
    })]))
  }

  async authenticate (store: KeyStore, req: XksHttpRequest): Promise<SigV4Principal> {
    const policy = this.#policies.get(store.name)
    if (policy === undefined) throw new XksError('AuthenticationFailedException', 'No credentials are configured for this key store.')
    const principal = policy.verify(req, Date.now())
    // After amzDate + skew the signature fails verification anyway, so it need not be remembered longer.
    const expiresAt = principal.amzDateMs + this.maxSkewSeconds * 1000
    const verdict = await this.replay.checkAndRecord(store.name, principal.signature, expiresAt)
    if (verdict === 'replay') {
      throw new XksError('AuthenticationFailedException', 'This request signature was already used; each signed request is accepted once.')
    }
    return principal
  }
}
