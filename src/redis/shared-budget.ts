export class BudgetExceeded extends Error {
  constructor (budgetMs: number) {
    super(`no answer from Redis within ${budgetMs} ms`)
    this.name = 'BudgetExceeded'
  }
}

interface Entry { deadline: number, reject: (err: Error) => void, done: boolean }

/**
 * A latency budget for Redis calls that share one duration, kept by one timer: every caller of the proxy's
 * client has one (the replay check, the fleet heartbeat). A timer and a race of two promises per call was a
 * measurable share of the replay check's CPU, which runs on every request. Calls with the same budget expire in
 * the order they started, so a FIFO and one timer armed for the oldest call still pending do the same job. The
 * timer is unref'd: a budget never keeps a process alive by itself.
 */
export class SharedBudget {
  readonly #budgetMs: number
  #entries: Entry[] = []
  #timer: NodeJS.Timeout | undefined

  constructor (budgetMs: number) {
    this.#budgetMs = budgetMs
  }

  /** Settles as `work` does, or rejects with BudgetExceeded once the budget has passed. */
  run<T> (work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = { deadline: performance.now() + this.#budgetMs, reject, done: false }
      this.#entries.push(entry)
      this.#timer ??= setTimeout(() => this.#expire(), this.#budgetMs).unref()
      work.then(value => {
        if (entry.done) return
        entry.done = true
        resolve(value)
      }, (err: unknown) => {
        if (entry.done) return
        entry.done = true
        reject(err)
      })
    })
  }

  /** Drops the finished calls from the front, fails the expired ones, re-arms for the oldest still running. */
  #expire (): void {
    this.#timer = undefined
    const now = performance.now()
    let first = 0
    for (; first < this.#entries.length; first++) {
      const entry = this.#entries[first]
      if (entry.done) continue
      if (entry.deadline > now) break
      entry.done = true
      entry.reject(new BudgetExceeded(this.#budgetMs))
    }
    this.#entries = this.#entries.slice(first)
    if (this.#entries.length > 0) this.#timer = setTimeout(() => this.#expire(), Math.max(0, this.#entries[0].deadline - now)).unref()
  }
}
