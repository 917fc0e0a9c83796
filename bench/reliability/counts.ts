import type * as hdr from 'hdr-histogram-js'

/**
 * Every request of a fault scenario falls in exactly one class: ok (2xx), retryable (500, 503 and 429, which
 * KMS retries), other (any other answer) or unanswered (the connection closed first, or no answer by the end).
 */

export interface Counts {
  requests: number
  ok: number
  retryable: number
  other: number
  unanswered: number
  /** Answers by HTTP status; 0 = no answer. */
  statuses: Record<string, number>
  /** When each request that was not ok ended (ms since the run started), in order. */
  failureTimes: number[]
  /** Latency of the ok answers, from the intended send time (ms). */
  okP50Ms: number
  okP99Ms: number
  okMaxMs: number
  /** Every ok answer as [when it ended, its latency] (ms), for latency before and after a fault. */
  okTimeline: Array<[number, number]>
}

export const isRetryable = (status: number): boolean => status === 500 || status === 503 || status === 429

export class Tally {
  answered = 0
  private ok = 0
  private retryable = 0
  private other = 0
  private lost = 0
  private readonly statuses: Record<string, number> = {}
  private readonly failureTimes: number[] = []
  private readonly okTimeline: Array<[number, number]> = []

  constructor (private readonly latency: hdr.Histogram) {}

  record (status: number, atMs: number, latencyMs: number): void {
    this.statuses[status] = (this.statuses[status] ?? 0) + 1
    if (status >= 200 && status < 300) {
      this.ok++
      this.answered++
      this.latency.recordValue(Math.max(1, Math.round(latencyMs * 1000)))
      this.okTimeline.push([atMs, latencyMs])
      return
    }
    this.failureTimes.push(atMs)
    if (status === 0) { this.lost++; return }
    this.answered++
    if (isRetryable(status)) this.retryable++
    else this.other++
  }

  unanswered (atMs: number): void {
    this.record(0, atMs, 0)
  }

  counts (requests: number): Counts {
    const pct = (p: number): number => this.latency.totalCount === 0 ? 0 : this.latency.getValueAtPercentile(p) / 1000
    return {
      requests,
      ok: this.ok,
      retryable: this.retryable,
      other: this.other,
      unanswered: this.lost,
      statuses: { ...this.statuses },
      failureTimes: this.failureTimes.slice(),
      okP50Ms: pct(50),
      okP99Ms: pct(99),
      okMaxMs: this.latency.totalCount === 0 ? 0 : this.latency.maxValue / 1000,
      okTimeline: this.okTimeline.slice(),
    }
  }
}

/** Requests that did not end ok. */
export const failed = (c: Counts): number => c.retryable + c.other + c.unanswered

/**
 * From the fault to the end of the last failure it caused, in ms: 0 when nothing failed after it. Failures
 * before the fault (there should be none) are left to the scenario's own check.
 */
export function recoveryMs (c: Counts, faultAtMs: number): number {
  const after = c.failureTimes.filter(t => t >= faultAtMs)
  return after.length === 0 ? 0 : Math.round(after[after.length - 1] - faultAtMs)
}

/** The p-th percentile latency (ms) of the ok answers that ended in [fromMs, toMs). */
export function okPercentile (c: Counts, p: number, fromMs: number, toMs = Infinity): number {
  const ms = c.okTimeline.filter(([t]) => t >= fromMs && t < toMs).map(([, l]) => l).sort((a, b) => a - b)
  return ms.length === 0 ? 0 : ms[Math.min(ms.length - 1, Math.floor(ms.length * p / 100))]
}
