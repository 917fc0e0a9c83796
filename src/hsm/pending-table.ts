/**
 * The operations one worker thread holds, under the id that travels with each to the worker and back.
 *
 * Why not a Map: V8 reallocates a Map's hash table each time it grows or shrinks, and a long-lived Map gets its new
 * tables in the old generation. With every operation added and removed (tens of thousands a second), those dead
 * tables filled the old generation about every 100 ms, and the main thread ran a full mark-compact collection each
 * time: about 10 µs of CPU per operation (bench/README.md "Full collections in the request path"). Here a slot is
 * reused once its operation is answered, so a steady load allocates nothing.
 *
 * An id is its slot and a generation (generation × 2^16 + slot, under 2^31 so V8 keeps it a small integer): it
 * names one use of a slot, and an answer under an id no longer held (its worker already answered it, or the table
 * was cleared) finds nothing.
 */
const SLOT_BITS = 16
const MAX_SLOTS = 1 << SLOT_BITS
const GENERATIONS = 1 << 15
const NO_SLOT = -1

export class PendingTable<T> {
  readonly #items: Array<T | undefined> = []
  readonly #ids: number[] = []
  /** The free slots as a linked list through this array, so taking and freeing one allocates nothing. */
  readonly #nextFree: number[] = []
  #freeHead = NO_SLOT
  #size = 0

  get size (): number {
    return this.#size
  }

  /** The slots ever used: the most held at once. */
  get capacity (): number {
    return this.#items.length
  }

  /** Holds `item`; returns its id. */
  add (item: T): number {
    let slot = this.#freeHead
    if (slot === NO_SLOT) {
      slot = this.#items.length
      // The pool holds at most maxBatch or maxSessions (1,024 each) operations per worker.
      if (slot === MAX_SLOTS) throw new Error(`a worker cannot hold more than ${MAX_SLOTS} operations at once`)
      this.#items.push(undefined)
      this.#ids.push(slot)
      this.#nextFree.push(NO_SLOT)
    } else {
      this.#freeHead = this.#nextFree[slot]
    }
    const generation = ((this.#ids[slot] >>> SLOT_BITS) + 1) % GENERATIONS
    const id = generation * MAX_SLOTS + slot
    this.#ids[slot] = id
    this.#items[slot] = item
    this.#size++
    return id
  }

  /** Removes and returns what is held under `id`, or undefined when nothing is. */
  take (id: number): T | undefined {
    const slot = id % MAX_SLOTS
    const item = this.#items[slot]
    if (item === undefined || this.#ids[slot] !== id) return undefined
    this.#free(slot)
    return item
  }

  /** Calls `fn` with each item held. */
  forEach (fn: (item: T) => void): void {
    for (const item of this.#items) if (item !== undefined) fn(item)
  }

  /** Removes every item; returns them. */
  clear (): T[] {
    const items: T[] = []
    this.#items.forEach((item, slot) => {
      if (item === undefined) return
      items.push(item)
      this.#free(slot)
    })
    return items
  }

  #free (slot: number): void {
    this.#items[slot] = undefined
    this.#nextFree[slot] = this.#freeHead
    this.#freeHead = slot
    this.#size--
  }
}
