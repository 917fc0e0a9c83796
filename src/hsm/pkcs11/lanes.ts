/**
 * Which thread owns which lane, and the sessions each lane has open, in a SharedArrayBuffer.
 *
 * Why: piscina may replace a worker that crashed (or was terminated) in the middle of a batch. Its sessions stay
 * open in the per-process Cryptoki state, and nothing in that dead thread can close them. The main thread marks
 * the dead worker's lane orphaned; the replacement worker adopts the lane and closes the recorded sessions,
 * unless a re-initialise happened since (then they are gone already, and the numbers may belong to others).
 * The same table gives stats().sessionsOpen without a message round trip.
 *
 * Lane layout (Int32): owner (threadId + 1; 0 free; -1 orphaned), generation, then per session: open flag,
 * handle low 32 bits, handle high 32 bits.
 */

const OWNER = 0
const GENERATION = 1
const FIRST_SESSION = 2
const FREE = 0
const ORPHANED = -1

export class LaneTable {
  readonly #words: Int32Array
  readonly #perLane: number
  readonly #sessions: number

  static create (lanes: number, sessionsPerLane: number): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer((1 + lanes * (FIRST_SESSION + 3 * sessionsPerLane)) * 4)
    // Word 0 holds sessionsPerLane, so every thread derives the same layout from the buffer alone.
    new Int32Array(buffer)[0] = sessionsPerLane
    return buffer
  }

  constructor (buffer: SharedArrayBuffer) {
    this.#words = new Int32Array(buffer)
    this.#sessions = this.#words[0]
    this.#perLane = FIRST_SESSION + 3 * this.#sessions
  }

  /** The most sessions a lane records: the most one thread may open. */
  get sessionsPerLane (): number {
    return this.#sessions
  }

  get lanes (): number {
    return (this.#words.length - 1) / this.#perLane
  }

  /** A worker takes an orphaned lane first (to clean it up), else a free one. */
  claim (threadId: number): number {
    for (const wanted of [ORPHANED, FREE]) {
      for (let lane = 0; lane < this.lanes; lane++) {
        if (Atomics.compareExchange(this.#words, this.#at(lane, OWNER), wanted, threadId + 1) === wanted) return lane
      }
    }
    throw new Error(`no free PKCS#11 lane for thread ${threadId} (${this.lanes} lanes)`)
  }

  /** Main thread: the worker died; returns its lane, or -1 if it had none. */
  orphan (threadId: number): number {
    for (let lane = 0; lane < this.lanes; lane++) {
      if (Atomics.compareExchange(this.#words, this.#at(lane, OWNER), threadId + 1, ORPHANED) === threadId + 1) {
        return lane
      }
    }
    return -1
  }

  release (lane: number): void {
    for (let i = 0; i < this.#sessions; i++) this.record(lane, i, null, 0)
    Atomics.store(this.#words, this.#at(lane, OWNER), FREE)
  }

  record (lane: number, index: number, handle: Buffer | null, generation: number): void {
    const at = this.#at(lane, FIRST_SESSION + 3 * index)
    if (handle !== null) {
      Atomics.store(this.#words, at + 1, handle.readInt32LE(0))
      Atomics.store(this.#words, at + 2, handle.length >= 8 ? handle.readInt32LE(4) : 0)
      Atomics.store(this.#words, this.#at(lane, GENERATION), generation)
    }
    Atomics.store(this.#words, at, handle === null ? 0 : 1)
  }

  /** The sessions a dead owner left open in `generation`; clears them from the table. */
  takeLeftovers (lane: number, generation: number): Buffer[] {
    const left: Buffer[] = []
    const sameGeneration = Atomics.load(this.#words, this.#at(lane, GENERATION)) === generation
    for (let i = 0; i < this.#sessions; i++) {
      const at = this.#at(lane, FIRST_SESSION + 3 * i)
      if (Atomics.load(this.#words, at) === 1 && sameGeneration) {
        const handle = Buffer.alloc(8)
        handle.writeInt32LE(Atomics.load(this.#words, at + 1), 0)
        handle.writeInt32LE(Atomics.load(this.#words, at + 2), 4)
        left.push(handle)
      }
      Atomics.store(this.#words, at, 0)
    }
    return left
  }

  /** Sessions open over all lanes whose owner is alive. */
  sessionsOpen (): number {
    let n = 0
    for (let lane = 0; lane < this.lanes; lane++) {
      if (Atomics.load(this.#words, this.#at(lane, OWNER)) <= 0) continue
      for (let i = 0; i < this.#sessions; i++) n += Atomics.load(this.#words, this.#at(lane, FIRST_SESSION + 3 * i))
    }
    return n
  }

  #at (lane: number, field: number): number {
    return 1 + lane * this.#perLane + field
  }
}
