import * as hdr from 'hdr-histogram-js'
import type { WorkerResult } from './protocol'

/** Latencies in µs up to one minute at three significant digits. */
export const newHistogram = (): hdr.Histogram =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })

/** Per-thread counters and histograms of one measured window. */
export class Recorder {
  readonly ok = newHistogram()
  readonly throttled = newHistogram()
  readonly other = newHistogram()
  readonly lag = newHistogram()
  readonly statuses: Record<string, number> = {}
  timeouts = 0

  record (status: number, latencyMs: number): void {
    const us = Math.max(1, Math.round(latencyMs * 1000))
    if (status >= 200 && status < 300) this.ok.recordValue(us)
    else if (status === 429) this.throttled.recordValue(us)
    else this.other.recordValue(us)
    this.statuses[status] = (this.statuses[status] ?? 0) + 1
  }

  timeout (latencyMs: number): void {
    this.timeouts++
    this.record(0, latencyMs)
  }

  result (windowMs: number): WorkerResult {
    const enc = (h: hdr.Histogram): string => hdr.encodeIntoCompressedBase64(h)
    return {
      ok: enc(this.ok),
      throttled: enc(this.throttled),
      other: enc(this.other),
      lag: enc(this.lag),
      statuses: this.statuses,
      timeouts: this.timeouts,
      windowMs,
    }
  }
}
