/**
 * A process-wide readers/writer lock over PKCS#11, in a SharedArrayBuffer handed to every worker thread.
 *
 * Why: the Cryptoki state is per process and shared by all threads. Two threads initialising at the same
 * instant confused SoftHSM (one ended up with CKR_SESSION_HANDLE_INVALID), and C_Finalize while another thread
 * is inside a call is undefined behaviour. So:
 * - every batch of PKCS#11 calls holds the gate SHARED (one flag per lane, i.e. per thread);
 * - initialisation and re-initialisation (C_Finalize + C_Initialize after CKR_DEVICE_ERROR) hold it EXCLUSIVE;
 * - a re-initialise bumps `generation`: every session handle opened before is dead, so each thread drops
 *   (never closes: the number may already belong to another thread's new session) and reopens its sessions.
 *
 * Deadlock notes:
 * - A thread never waits for EXCLUSIVE while it holds SHARED: `reinitialize` releases its shared flag first.
 * - Shared holds are per lane flags, not a counter, so the main thread can clear the flag of a worker that died
 *   inside a batch (`releaseLane`); a counter would stay raised forever and block every re-initialise.
 * - Idle piscina workers sit in Atomics.wait holding nothing, so they never block a writer.
 * - Waits use a timeout and re-check, so a lost notify costs at most WAIT_MS, never a hang.
 * - A writer that is waiting stops new readers (writer preference): re-init cannot starve under load.
 *
 * One gate serves every pool on a module (module-gates.ts): each pool sees its own lanes 0..n-1, placed at
 * `base` in the shared buffer, and an exclusive hold waits for every lane of every pool.
 */

const WRITER = 0
const GENERATION = 1
const HEADER = 2
const WAIT_MS = 20

export class InitGate {
  readonly #words: Int32Array
  readonly #base: number

  /** One lane per thread that may call PKCS#11 (pool workers, plus spares for replaced workers). */
  static create (lanes: number): SharedArrayBuffer {
    return new SharedArrayBuffer((HEADER + lanes) * Int32Array.BYTES_PER_ELEMENT)
  }

  /** `base`: where this pool's lanes start in the (shared) buffer; a lane number given to a method is the pool's. */
  constructor (buffer: SharedArrayBuffer, base = 0) {
    this.#words = new Int32Array(buffer)
    this.#base = base
  }

  /** Lanes in the whole buffer, over every pool that shares it. */
  get lanes (): number {
    return this.#words.length - HEADER
  }

  get generation (): number {
    return Atomics.load(this.#words, GENERATION)
  }

  acquireShared (lane: number): void {
    const w = this.#words
    const flag = HEADER + this.#base + lane
    for (;;) {
      const writer = Atomics.load(w, WRITER)
      if (writer !== 0) {
        Atomics.wait(w, WRITER, writer, WAIT_MS)
        continue
      }
      // Raise our flag, then re-check the writer. Atomics are sequentially consistent, so either the writer
      // sees our flag or we see its claim (the writer does the same steps in the other order).
      Atomics.store(w, flag, 1)
      if (Atomics.load(w, WRITER) === 0) return
      this.releaseShared(lane)
    }
  }

  releaseShared (lane: number): void {
    const flag = HEADER + this.#base + lane
    Atomics.store(this.#words, flag, 0)
    Atomics.notify(this.#words, flag)
  }

  /** Runs fn with no other lane inside PKCS#11. The caller must not hold the gate shared. */
  exclusive<T> (lane: number, fn: () => T): T {
    this.#acquireExclusive(lane)
    try {
      return fn()
    } finally {
      this.#releaseExclusive()
    }
  }

  /**
   * Called while holding SHARED, after an error that needs C_Finalize + C_Initialize. Several threads usually
   * see the same device error: only the first to get the lock re-initialises; the others find the generation
   * moved past `seenGeneration` and just reopen their sessions. Returns true if this call ran `reinit`.
   * The generation is bumped even when `reinit` throws: by then C_Finalize may already have closed everything.
   */
  reinitialize (lane: number, seenGeneration: number, reinit: () => void): boolean {
    this.releaseShared(lane)
    try {
      return this.exclusive(lane, () => {
        if (this.generation !== seenGeneration) return false
        try {
          reinit()
        } finally {
          Atomics.add(this.#words, GENERATION, 1)
        }
        return true
      })
    } finally {
      this.acquireShared(lane)
    }
  }

  /** Main thread, after the worker owning `lane` died: drop whatever it held. */
  releaseLane (lane: number): void {
    this.releaseShared(lane)
    const writer = this.#base + lane + 1
    if (Atomics.compareExchange(this.#words, WRITER, writer, 0) === writer) Atomics.notify(this.#words, WRITER)
  }

  #acquireExclusive (lane: number): void {
    const w = this.#words
    const own = this.#base + lane
    while (Atomics.compareExchange(w, WRITER, 0, own + 1) !== 0) {
      Atomics.wait(w, WRITER, Atomics.load(w, WRITER), WAIT_MS)
    }
    for (let other = 0; other < this.lanes; other++) {
      if (other === own) continue
      while (Atomics.load(w, HEADER + other) !== 0) Atomics.wait(w, HEADER + other, 1, WAIT_MS)
    }
  }

  #releaseExclusive (): void {
    Atomics.store(this.#words, WRITER, 0)
    Atomics.notify(this.#words, WRITER)
  }
}
