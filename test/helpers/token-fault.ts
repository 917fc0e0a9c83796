/**
 * Makes one SoftHSM token fail for this process, the way an HSM whose partition stops accepting its application
 * does, and restores it. `break()` changes the token's user PIN and closes every session on it: each worker's
 * next call finds its session gone (CKR_SESSION_HANDLE_INVALID), reopens it and is refused at C_Login
 * (CKR_PIN_INCORRECT), so the backend has no session and answers Unavailable through its real pool.
 * `restore()` sets the PIN back; the workers' next repair succeeds.
 *
 * PKCS#11 state is per process, so this works only on pools in this process. Its calls go through the module's
 * init gate (its own lane), like any pool's thread; closing the sessions holds it exclusive.
 */
import * as pkcs11js from 'pkcs11js'
import { findSlot, initialize, loadModule } from '../../src/hsm/pkcs11/cryptoki'
import { leaseGateLanes, type GateLease } from '../../src/hsm/pkcs11/module-gates'

const RW = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION
const OTHER_PIN = '99999999'

export class TokenFault {
  readonly #api: pkcs11js.PKCS11
  readonly #lease: GateLease
  readonly #slot: pkcs11js.Handle
  #broken = false

  constructor (modulePath: string, tokenLabel: string, private readonly pin: string) {
    this.#api = loadModule(modulePath)
    this.#lease = leaseGateLanes(modulePath, 1)
    this.#slot = this.#lease.gate.exclusive(0, () => {
      initialize(this.#api)
      return findSlot(this.#api, tokenLabel)
    })
  }

  break (): void {
    this.#setPin(this.pin, OTHER_PIN)
    this.#broken = true
    // Exclusive, not shared: SoftHSM frees a session that C_CloseAllSessions closes even while another thread is
    // inside C_Encrypt on it, and that thread then crashed the process (SIGSEGV, seen once in CI). With every
    // thread out of the library, each finds its session gone on its next call, as with an HSM that dropped it.
    this.#lease.gate.exclusive(0, () => this.#api.C_CloseAllSessions(this.#slot))
  }

  restore (): void {
    if (this.#broken) this.#setPin(OTHER_PIN, this.pin)
    this.#broken = false
  }

  /** Restores the PIN if needed and gives back the gate lane; never C_Finalize: pools still use the library. */
  close (): void {
    this.restore()
    this.#lease.release()
  }

  #setPin (from: string, to: string): void {
    this.#shared(() => {
      const session = this.#api.C_OpenSession(this.#slot, RW)
      try {
        try {
          this.#api.C_Login(session, pkcs11js.CKU_USER, from)
        } catch (err) {
          if (!(err instanceof pkcs11js.Pkcs11Error && err.code === pkcs11js.CKR_USER_ALREADY_LOGGED_IN)) throw err
        }
        this.#api.C_SetPIN(session, from, to)
      } finally {
        this.#api.C_CloseSession(session)
      }
    })
  }

  #shared<T> (fn: () => T): T {
    this.#lease.gate.acquireShared(0)
    try {
      return fn()
    } finally {
      this.#lease.gate.releaseShared(0)
    }
  }
}
