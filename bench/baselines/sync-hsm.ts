import { CryptokiContext } from '../../src/hsm/pkcs11/context'
import { finalize, loadModule } from '../../src/hsm/pkcs11/cryptoki'
import { InitGate } from '../../src/hsm/pkcs11/init-gate'
import { TokenSession } from '../../src/hsm/pkcs11/token-session'
import type {
  DecryptRequest, DecryptResult, EncryptRequest, EncryptResult, HsmBackend, HsmOutcome, HsmStats, KeyAttributes, TokenInfo,
} from '../../src/hsm/types'

/**
 * The naive baseline's HSM: one PKCS#11 session, called synchronously on the main thread, as a conventional
 * single-process server would. It uses the proxy's own TokenSession (key cache, session repair), so the only
 * difference from xksgate's pool is where the call runs: every HSM call blocks the event loop.
 */
export class SyncHsm implements HsmBackend {
  private readonly ctx: CryptokiContext
  private readonly session: TokenSession

  constructor (modulePath: string, tokenLabel: string, pin: string) {
    // One thread, one lane: the gate only has to satisfy TokenSession's contract.
    this.ctx = new CryptokiContext(loadModule(modulePath), new InitGate(InitGate.create(1)), 0, tokenLabel)
    this.ctx.start()
    this.session = new TokenSession(this.ctx, { pin, ivSource: 'random' })
    this.ctx.withShared(() => this.session.open())
  }

  // A synchronous call cannot be late for its deadline: it is over before anything else could run.
  encrypt (req: EncryptRequest): Promise<HsmOutcome<EncryptResult>> {
    return this.run(() => this.session.encrypt(req))
  }

  decrypt (req: DecryptRequest): Promise<HsmOutcome<DecryptResult>> {
    return this.run(() => this.session.decrypt(req))
  }

  describeKey (keyLabel: string): Promise<HsmOutcome<KeyAttributes>> {
    return this.run(() => this.session.describeKey(keyLabel))
  }

  tokenInfo (): Promise<HsmOutcome<TokenInfo>> {
    return this.run(() => this.session.tokenInfo())
  }

  stats (): HsmStats {
    return { threads: 1, sessionsOpen: this.session.handle === null ? 0 : 1, queued: 0, inFlight: 0, batches: 0, batchedOps: 0, concurrencyLimit: 1 }
  }

  async close (): Promise<void> {
    this.ctx.withShared(() => this.session.close())
    finalize(this.ctx.api)
  }

  private run<T> (op: () => HsmOutcome<T>): Promise<HsmOutcome<T>> {
    return Promise.resolve(this.ctx.withShared(op))
  }
}
