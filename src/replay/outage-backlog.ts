/**
 * The signatures a process accepted from its local cache while Redis was unreachable (fail-open-local), kept to
 * be written to Redis once it is back, so that other instances reject them from then on.
 *
 * Only live signatures are worth writing: one that has expired fails the clock-skew check anyway. Entries are
 * grouped by the second they expire in and a group is dropped as soon as that second has passed, so an outage
 * of any length holds at most the signatures of the last ±maxSkewSeconds, never everything since it began
 * (before: 10,800 entries held for 937 live ones, about 1.3 GB an hour per process at KMS's quota). The local
 * cache, which refuses what it has no room for, bounds the live ones.
 */

export interface BacklogEntry { key: string, expiresAtMs: number }

export class OutageBacklog {
  /** Redis keys by the wall-clock second (ms since the epoch / 1000, rounded up) at which they expire. */
  #bySecond = new Map<number, string[]>()
  #size = 0
  #prunedSecond = -Infinity

  /** `now`: the wall clock in ms (the guard's, injectable for tests). */
  constructor (private readonly now: () => number) {}

  /** Entries held, expired ones included until their second is next pruned (at most a second later). */
  get size (): number {
    return this.#size
  }

  add (key: string, expiresAtMs: number): void {
    this.#prune()
    // Rounded up: the record written from it never ends before the signature stops being valid.
    const second = Math.ceil(expiresAtMs / 1000)
    const group = this.#bySecond.get(second)
    if (group === undefined) this.#bySecond.set(second, [key])
    else group.push(key)
    this.#size++
  }

  /** Empties the backlog and returns its live entries. */
  take (): BacklogEntry[] {
    this.#prune()
    const entries: BacklogEntry[] = []
    for (const [second, keys] of this.#bySecond) {
      for (const key of keys) entries.push({ key, expiresAtMs: second * 1000 })
    }
    this.#bySecond = new Map()
    this.#size = 0
    return entries
  }

  /** Drops the groups whose second has passed; once a second, it walks at most 2 × maxSkewSeconds + 1 groups. */
  #prune (): void {
    const nowSecond = Math.floor(this.now() / 1000)
    if (nowSecond === this.#prunedSecond) return
    this.#prunedSecond = nowSecond
    for (const [second, keys] of this.#bySecond) {
      if (second > nowSecond) continue
      this.#bySecond.delete(second)
      this.#size -= keys.length
    }
  }
}
