/**
 * One worker thread's asynchronous PKCS#11 calls, and the operations that must run alone.
 *
 * In the concurrent mode (steps.ts) a thread has several operations at once, and their C_Encrypt/C_Decrypt run on
 * libuv's pool while the thread goes on. A re-initialise (C_Finalize + C_Initialize) must not overlap any of those
 * calls. Everything else an operation does runs on the thread, one piece at a time, so it cannot overlap it either.
 *
 * So: an asynchronous call enters (`enterCall`) and leaves; an operation that must run alone (`alone`) waits until
 * no call is in the module, and from then on no call enters until it is `done`. Several may wait to run alone at
 * once (every operation of the thread meets the same device error): each gets its turn, none is lost. A waiting
 * one keeps new calls out, so a re-initialise cannot starve under load.
 *
 * A call held back here may have been prepared (C_EncryptInit) before the re-initialise it waited for, on a session
 * that no longer exists: the driver checks the library's generation after `enterCall` (steps.ts).
 */
export class ThreadCalls {
  #calls = 0
  #alone = false
  readonly #waitingAlone: Array<() => void> = []
  #waitingCalls: Array<() => void> = []

  /** Before an asynchronous call: waits while an operation runs alone or waits to. */
  async enterCall (): Promise<void> {
    while (this.#alone || this.#waitingAlone.length > 0) await new Promise<void>(resolve => this.#waitingCalls.push(resolve))
    this.#calls++
  }

  leaveCall (): void {
    this.#calls--
    this.#next()
  }

  /** Resolves once the caller runs alone: no call in the module, and none enters until `done()`. */
  async alone (): Promise<void> {
    await new Promise<void>(resolve => {
      this.#waitingAlone.push(resolve)
      this.#next()
    })
  }

  done (): void {
    this.#alone = false
    this.#next()
  }

  #next (): void {
    if (this.#alone) return
    if (this.#waitingAlone.length > 0) {
      if (this.#calls > 0) return
      this.#alone = true
      this.#waitingAlone.shift()?.()
      return
    }
    const calls = this.#waitingCalls
    this.#waitingCalls = []
    for (const resolve of calls) resolve()
  }
}
