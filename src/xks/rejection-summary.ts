/**
 * Requests refused before authentication: 401 (no valid signature, or a replay) and 404/405 for a path that is
 * no XKS route. Anyone who can reach the port can send them at no cost to himself (a 401's quota token is refunded),
 * so a line and an audit record each would let him fill the disk: 25,926 wrong-secret requests in 5 s wrote
 * 12.9 MB of audit records and 8.9 MB of log. They are summed instead, as 429s are: once a second, one group per
 * (status, errorName, detail, key store, presented access key id, source address), with its count. The metrics
 * still count each one.
 *
 * The groups are bounded: an attacker can vary the access key id and his source address at will. New groups
 * draw on a budget of MAX_REJECTION_GROUPS that refills at GROUPS_PER_SECOND; past it, requests are only
 * counted, in `other`. So a burst of distinct senders is still told apart, while a sustained flood of new ids
 * costs about one group a second (bench/unauthenticated-flood.ts --distinct measures it), not one a request.
 */
import type { RequestLogEntry } from './request-log'

export const REJECTION_INTERVAL_MS = 1000
export const MAX_REJECTION_GROUPS = 32
export const GROUPS_PER_SECOND = 1

export interface RejectionGroup {
  status: number
  errorName: string | undefined
  /** The reason (e.g. "Signature does not match", "Unknown access key id"). */
  detail: string | undefined
  keyStore: string | undefined
  /** The access key id the requests presented, which anyone can present: it proves nothing by itself. */
  accessKeyId: string | undefined
  remote: string
  count: number
}

export interface RejectionInterval {
  groups: RejectionGroup[]
  /** Requests beyond the groups' budget, counted but not told apart. */
  other: number
  intervalMs: number
}

/**
 * Whether a finished request was refused before it was authenticated: a 401, or a route that does not exist
 * (no operation was matched, so nothing after the route ran).
 */
export function rejectedBeforeAuthentication (entry: RequestLogEntry): boolean {
  return entry.status === 401 || (entry.operation === undefined && entry.status >= 400)
}

/** Sums rejections and hands each non-empty interval to `flush`, at most once per `intervalMs`. */
export class RejectionSummary {
  #groups = new Map<string, RejectionGroup>()
  #other = 0
  #timer: NodeJS.Timeout | undefined
  #budget: number
  #budgetAt: number

  constructor (private readonly flushInterval: (interval: RejectionInterval) => void,
    private readonly intervalMs = REJECTION_INTERVAL_MS, private readonly maxGroups = MAX_REJECTION_GROUPS,
    private readonly clock: () => number = Date.now) {
    this.#budget = maxGroups
    this.#budgetAt = clock()
  }

  count (entry: RequestLogEntry): void {
    // '\n' cannot occur in any of the fields (header values and paths carry no newline), so keys never collide.
    const key = `${entry.status}\n${entry.errorName ?? ''}\n${entry.detail ?? ''}\n${entry.keyStore ?? ''}\n${entry.accessKeyId ?? ''}\n${entry.remote}`
    const group = this.#groups.get(key)
    if (group !== undefined) {
      group.count++
    } else if (this.#takeGroup()) {
      const { status, errorName, detail, keyStore, accessKeyId, remote } = entry
      this.#groups.set(key, { status, errorName, detail, keyStore, accessKeyId, remote, count: 1 })
    } else {
      this.#other++
    }
    if (this.#timer !== undefined) return
    this.#timer = setTimeout(() => this.flush(), this.intervalMs)
    this.#timer.unref()
  }

  /** Whether the budget allows one more group (the budget never exceeds maxGroups, nor then an interval's groups). */
  #takeGroup (): boolean {
    const now = this.clock()
    this.#budget = Math.min(this.maxGroups, this.#budget + (now - this.#budgetAt) / 1000 * GROUPS_PER_SECOND)
    this.#budgetAt = now
    if (this.#budget < 1) return false
    this.#budget--
    return true
  }

  /** Hands over what was counted since the last flush (nothing when nothing was), and starts a new interval. */
  flush (): void {
    if (this.#timer !== undefined) { clearTimeout(this.#timer); this.#timer = undefined }
    if (this.#groups.size === 0) return
    const interval = { groups: [...this.#groups.values()], other: this.#other, intervalMs: this.intervalMs }
    this.#groups = new Map()
    this.#other = 0
    this.flushInterval(interval)
  }
}
