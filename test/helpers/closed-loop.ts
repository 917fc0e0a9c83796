/**
 * A closed loop of signed requests for fault tests over real TLS: `clients` loops, each sending its next request
 * as soon as the previous one is answered (as many at once as the clients, at the highest rate the machine
 * allows), every answer kept with its status, its time from the send and when it came. `inFlight` is live, so a
 * test can read how many requests were outstanding at the instant it injects a fault.
 */
export interface Answer {
  /** HTTP status, 0 for a socket error, or whatever the request function returns for a wrong answer. */
  status: number
  /** From the send to the answer. */
  ms: number
  /** Date.now() when the answer came. */
  at: number
}

export class ClosedLoop {
  readonly answers: Answer[] = []
  inFlight = 0

  /** `request` sends one request (or a sequence, e.g. Encrypt then Decrypt) and returns its status. */
  constructor (private readonly request: () => Promise<number>) {}

  /** Runs `clients` loops for `ms`; resolves with this run's answers. */
  async run (clients: number, ms: number): Promise<Answer[]> {
    const first = this.answers.length
    const end = Date.now() + ms
    await Promise.all(Array.from({ length: clients }, async () => {
      while (Date.now() < end) {
        const sent = performance.now()
        this.inFlight++
        const status = await this.request().catch(() => 0)
        this.inFlight--
        this.answers.push({ status, ms: performance.now() - sent, at: Date.now() })
      }
    }))
    return this.answers.slice(first)
  }
}

/** How many answers had each status, e.g. `{ 200: 812, 429: 97 }`. */
export function countStatuses (answers: readonly Answer[]): Record<number, number> {
  const counts: Record<number, number> = {}
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1
  return counts
}

/** The q-th percentile (0-100) of the answers' times from the send, in ms; NaN without answers. */
export function percentileMs (answers: readonly Answer[], q: number): number {
  if (answers.length === 0) return NaN
  const sorted = answers.map(a => a.ms).sort((x, y) => x - y)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q / 100))]
}
