import fs from 'node:fs'
import { readCounters } from '../../lib/connection-info'
import { treeRss } from '../../lib/procstat'
import { startFaultProxy } from '../proxy'
import { okPercentile } from '../counts'
import { commonViolations, type Scenario, underLoad } from '../scenario'

/**
 * KMS gives a request 250 ms (docs/xks-spec.md §3): answers must stay within it while stdout is stuck. On a
 * starved machine the p99 can be past it before the block too; the block is then judged by what it changed: a
 * p99 after it over the budget and over 1.5× the p99 before it.
 */
const BUDGET_MS = 250
const WORSE_RATIO = 1.5
/** The log destination holds at most 16 MiB (src/log.ts); RSS may grow by that and a little more, not without limit. */
const RSS_BOUND_MB = 16 + 24
/**
 * In the full run the load goes on this long after the block: at 300 req/s and ~500 bytes of log a request,
 * long enough to fill the 16 MiB and show lines being dropped.
 */
const FULL_AFTER_FAULT_MS = 150_000

/**
 * The log reader stops reading stdout (a stuck log shipper): the pipe fills, then the logger's asynchronous
 * destination buffers up to its 16 MiB cap and drops (and counts) lines past it. Requests must keep being
 * answered within budget and memory must stay bounded.
 */
export const stdoutBlocked: Scenario = {
  id: 'stdout-blocked',
  fault: 'stdout no longer read (log pipe full)',
  run: async ctx => {
    const proxy = await startFaultProxy(ctx.devDir, 'stdout-blocked', { stdoutPipe: true })
    const out = proxy.proc.child.stdout!
    const sink = fs.createWriteStream(proxy.logFile, { flags: 'a' })
    let bytesRead = 0
    out.on('data', (chunk: Buffer) => { bytesRead += chunk.length; sink.write(chunk) })
    const rss = (): number => treeRss(proxy.pid).reduce((sum, p) => sum + p.rssMb, 0)
    try {
      let rssAtFault = 0
      let readBeforeFault = 0
      let answeredAtFault = 0
      const shape = ctx.full === true ? { ...ctx, durationMs: Math.max(ctx.durationMs, ctx.faultAtMs + FULL_AFTER_FAULT_MS) } : ctx
      const run = await underLoad(proxy, shape, async load => {
        out.pause()
        rssAtFault = rss()
        readBeforeFault = bytesRead
        answeredAtFault = load.answered()
        return undefined
      })
      const rssEnd = rss()
      const dropped = (await readCounters(proxy.info.metricsUrl!, ['xksgate_log_lines_dropped_total'])).xksgate_log_lines_dropped_total
      const bytesPerRequest = readBeforeFault / Math.max(1, answeredAtFault)
      const unread = Math.round((run.counts.requests - answeredAtFault) * bytesPerRequest / 1024)
      const violations = commonViolations(run.counts, run.faultAtMs, 0)
      const p99Before = okPercentile(run.counts, 99, 0, run.faultAtMs)
      const p99After = okPercentile(run.counts, 99, run.faultAtMs)
      if (p99After > BUDGET_MS && p99After > WORSE_RATIO * p99Before) violations.push(`ok p99 ${p99After.toFixed(1)} ms after the block (${p99Before.toFixed(1)} ms before) is over the ${BUDGET_MS} ms budget`)
      if (rssEnd - rssAtFault > RSS_BOUND_MB) violations.push(`RSS grew ${(rssEnd - rssAtFault).toFixed(1)} MB while stdout was stuck`)
      return {
        ...run,
        notes: [`ok p99 ${p99Before.toFixed(1)} ms before the block, ${p99After.toFixed(1)} ms after; RSS ${rssAtFault.toFixed(0)} → ${rssEnd.toFixed(0)} MB; ` +
          `~${unread} KiB of log lines unread (${bytesPerRequest.toFixed(0)} B a request); ${dropped} lines dropped`],
        violations,
      }
    } finally {
      out.resume()
      await proxy.proc.stop()
      sink.end()
    }
  },
}
