/**
 * A fixed-size set of recently used SigV4 signatures, each kept until it expires, in one preallocated Int32Array.
 *
 * Why not a Map: at KMS's quota (1,800 req/s per key store) the ±5 min skew window holds about a million live
 * signatures. As Map entries with string keys they cost ~200 bytes each and a million long-lived heap objects,
 * which every major GC walks. Here a signature is 16 bytes of its digest plus an expiry second, 20 bytes in a
 * typed array the GC never scans, allocated once at startup (memory is known up front and does not grow).
 *
 * Layout: `buckets` buckets of SLOTS_PER_BUCKET (16) slots; a slot is 4 words of digest and 1 word of expiry and
 * state: the expiry (seconds after `baseSecond`; a slot whose expiry is not in the future is free) shifted left by
 * STATE_BITS, and the signature's state (SignatureState) in the low bits. Comparing the whole word with the current
 * second shifted the same way, all state bits set, still tells live from free in one comparison; 29 bits of
 * seconds last 17 years of uptime. Each signature may live in one of two buckets chosen from different digest
 * words ("two choices": it goes to the emptier one), which keeps buckets evenly filled, so the table only runs
 * out of room when it is nearly full as a whole.
 *
 * Nothing live is ever evicted. When both buckets of a new signature are full of live entries, `insert` says so
 * and the caller refuses the request (a retryable 429) instead of forgetting a signature that could then be
 * replayed (docs/xks-spec.md §8.3: a signature must not be usable twice within its window).
 */

const SLOTS_PER_BUCKET = 16
const WORDS_PER_SLOT = 5
const EXPIRY = 4
const STATE_BITS = 2
const STATE_MASK = (1 << STATE_BITS) - 1

/**
 * Where a recorded signature stands (docs/operations.md "Replay: retries and repeats"). USED is final; PENDING is a first
 * attempt still being answered; REPRESENTABLE was answered with a retryable error, or its answer never reached
 * the connection, so it may be presented once more.
 */
export const enum SignatureState { USED = 0, PENDING = 1, REPRESENTABLE = 2 }

/** `insert`'s answers besides the slot of a live entry. */
export const INSERTED = -1
export const FULL = -2
/**
 * Fill the table to at most this share of its slots at the configured capacity. With 16-slot buckets and two
 * choices, filling a table of 1,000 to 1,081,800 entries to capacity found no full bucket in simulation (8-slot
 * buckets at this load refused ~0.02% of inserts).
 */
const TARGET_LOAD = 0.8

export class SignatureTable {
  readonly capacity: number
  readonly #words: Int32Array
  readonly #buckets: number
  readonly #baseSecond: number
  readonly #digest = new Int32Array(4)
  readonly #now: () => number
  #live = 0
  #sweepBucket = 0
  /** The two candidate buckets of the digest last loaded. */
  #a = 0
  #b = 0

  /** Room for at least `capacity` live signatures; `now` is the wall clock in ms (injectable for tests). */
  constructor (capacity: number, now: () => number = Date.now) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer')
    this.capacity = capacity
    this.#buckets = Math.max(2, Math.ceil(capacity / TARGET_LOAD / SLOTS_PER_BUCKET))
    this.#words = new Int32Array(this.#buckets * SLOTS_PER_BUCKET * WORDS_PER_SLOT)
    // Touch every page now: the kernel hands out zeroed pages lazily, and inserts land on random pages, so an
    // untouched table costs a page fault on most inserts for its first minutes (measured: ~5 µs per check, against
    // well under 1 µs once touched) and makes RSS creep up to the table's size instead of starting there.
    this.#words.fill(0)
    this.#now = now
    // Expiries are stored relative to this second, so every stored expiry is >= 1 and 0 means "never used".
    this.#baseSecond = Math.floor(now() / 1000) - 1
  }

  /** Bytes the table holds, whatever its fill. */
  get bytes (): number {
    return this.#words.byteLength
  }

  /** Live signatures, counted as they are inserted and found expired (it lags expiry by at most one sweep). */
  get size (): number {
    return this.#live
  }

  /** The slot of the signature's live entry, or -1. */
  slotOf (storeIndex: number, signature: string): number {
    this.#load(storeIndex, signature)
    const now = this.#nowKey()
    const inA = this.#find(this.#a, now)
    return inA >= 0 ? inA : this.#find(this.#b, now)
  }

  stateAt (slot: number): SignatureState {
    return this.#words[slot * WORDS_PER_SLOT + EXPIRY] & STATE_MASK
  }

  setStateAt (slot: number, state: SignatureState): void {
    const at = slot * WORDS_PER_SLOT + EXPIRY
    this.#words[at] = (this.#words[at] & ~STATE_MASK) | state
  }

  /**
   * Records the signature in `state` until `expiresAtMs`, unless it is live already (the answer is then its
   * slot, for stateAt and setStateAt) or there is no free slot for it (FULL). INSERTED when recorded.
   */
  insert (storeIndex: number, signature: string, expiresAtMs: number, state: SignatureState): number {
    this.#load(storeIndex, signature)
    const now = this.#nowKey()
    this.#sweepOne(now)
    const a = this.#a
    const b = this.#b
    const inA = this.#find(a, now)
    if (inA >= 0) return inA
    const inB = this.#find(b, now)
    if (inB >= 0) return inB
    const freeA = this.#freeSlots(a, now)
    const freeB = this.#freeSlots(b, now)
    if (freeA === 0 && freeB === 0) return FULL
    const slot = this.#firstFree(freeA >= freeB ? a : b, now)
    const at = slot * WORDS_PER_SLOT
    const w = this.#words
    if (w[at + EXPIRY] !== 0) this.#live-- // an expired entry the sweep had not reached yet
    w[at] = this.#digest[0]
    w[at + 1] = this.#digest[1]
    w[at + 2] = this.#digest[2]
    w[at + 3] = this.#digest[3]
    // At least one second, and rounded up: a record never ends before the signature stops being valid.
    const expiry = Math.max((now >>> STATE_BITS) + 1, Math.ceil(expiresAtMs / 1000) - this.#baseSecond)
    w[at + EXPIRY] = (expiry << STATE_BITS) | state
    this.#live++
    return INSERTED
  }

  /**
   * The signature's 64 hex digits folded into four words (an HMAC-SHA256 output is uniformly distributed, so no
   * further hashing is needed; folding all of it keeps structured test inputs apart too), the key store mixed
   * into the first: the same signature under two key stores is two entries.
   */
  #load (storeIndex: number, signature: string): void {
    const d = this.#digest
    for (let i = 0; i < 4; i++) {
      d[i] = parseInt(signature.slice(8 * i, 8 * i + 8), 16) ^ parseInt(signature.slice(32 + 8 * i, 40 + 8 * i), 16)
    }
    d[0] ^= Math.imul(storeIndex + 1, 0x9e3779b1)
    // Bucket choices from all four words, mixed: a bucket index must not depend on one word alone.
    const h = fmix32(d[0] ^ Math.imul(d[1], 0x85ebca6b) ^ Math.imul(d[2], 0xc2b2ae35) ^ Math.imul(d[3], 0x27d4eb2f))
    this.#a = (h >>> 0) % this.#buckets
    this.#b = (fmix32(h ^ 0x9e3779b9) >>> 0) % this.#buckets
  }

  /** The current second as the expiry words hold it, with every state bit set: a word above it is live. */
  #nowKey (): number {
    return ((Math.floor(this.#now() / 1000) - this.#baseSecond) << STATE_BITS) | STATE_MASK
  }

  /** The slot holding the loaded digest live in `bucket`, or -1. */
  #find (bucket: number, now: number): number {
    const w = this.#words
    const d = this.#digest
    for (let slot = bucket * SLOTS_PER_BUCKET, end = slot + SLOTS_PER_BUCKET; slot < end; slot++) {
      const at = slot * WORDS_PER_SLOT
      if (w[at + EXPIRY] > now && w[at] === d[0] && w[at + 1] === d[1] && w[at + 2] === d[2] && w[at + 3] === d[3]) return slot
    }
    return -1
  }

  #freeSlots (bucket: number, now: number): number {
    let free = 0
    for (let slot = bucket * SLOTS_PER_BUCKET, end = slot + SLOTS_PER_BUCKET; slot < end; slot++) {
      if (this.#words[slot * WORDS_PER_SLOT + EXPIRY] <= now) free++
    }
    return free
  }

  #firstFree (bucket: number, now: number): number {
    let slot = bucket * SLOTS_PER_BUCKET
    while (this.#words[slot * WORDS_PER_SLOT + EXPIRY] > now) slot++
    return slot
  }

  /**
   * Clears the expired entries of one bucket per insert, walking the table round: the live count then follows
   * expiry, and a full pass takes `buckets` inserts (at 1,800 req/s, about 2 minutes for a table sized for 10
   * minutes of traffic).
   */
  #sweepOne (now: number): void {
    const w = this.#words
    for (let slot = this.#sweepBucket * SLOTS_PER_BUCKET, end = slot + SLOTS_PER_BUCKET; slot < end; slot++) {
      const at = slot * WORDS_PER_SLOT + EXPIRY
      if (w[at] !== 0 && w[at] <= now) {
        w[at] = 0
        this.#live--
      }
    }
    this.#sweepBucket = (this.#sweepBucket + 1) % this.#buckets
  }
}

/** MurmurHash3's 32-bit finaliser: every input bit affects every output bit. */
function fmix32 (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}
