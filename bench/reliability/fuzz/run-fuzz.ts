import { buildCase, type FuzzCase, type FuzzTarget } from './cases'
import { parserRefusal, shapeProblem } from './check'
import { FuzzConnection, type Outcome, type Wire } from './send'

/**
 * Sends `count` fuzzed requests over `lanes` concurrent connections and judges every answer. A request whose
 * framing is sound must be answered, spec-shaped; one with broken framing may instead see the connection close
 * (or get no answer within FRAMING_WAIT_MS, after which the client gives up). Everything else is a failure, listed with its seed and case number.
 */

const ANSWER_WAIT_MS = 3000
/**
 * uWS keeps some broken heads (HTTP/1.0, a malformed header line, > 48 headers) open until its 10 s idle timeout
 * (docs/behaviour.md "HTTP framing"); the client gives up on those sooner, so that they do not hold the lanes.
 */
const FRAMING_WAIT_MS = 400

export interface FuzzFailure { n: number, kind: FuzzCase['kind'], what: string, reason: string }

export interface FuzzTotals {
  seed: number
  requests: number
  answered: number
  /**
   * Broken framing answered by closing the connection (or not answered before the client gave up), or refused by
   * the HTTP parser itself before xksgate saw a request (parserRefusal).
   */
  closed: number
  byStatus: Record<string, number>
  byKind: Record<string, number>
  failures: FuzzFailure[]
  ms: number
}

export interface FuzzOptions extends Wire {
  target: FuzzTarget
  seed: number
  count: number
  lanes: number
  /** First case number (to rerun one case: first = n, count = 1). */
  first?: number
  /** The proxy's server.bodyTimeoutMs: a body whose writing took longer may be answered by a close. */
  bodyTimeoutMs: number
}

export async function runFuzz (o: FuzzOptions): Promise<FuzzTotals> {
  const totals: FuzzTotals = { seed: o.seed, requests: 0, answered: 0, closed: 0, byStatus: {}, byKind: {}, failures: [], ms: 0 }
  const started = Date.now()
  const first = o.first ?? 0
  let next = first
  const judge = (c: FuzzCase, outcome: Outcome, writeMs: number): void => {
    totals.requests++
    totals.byKind[c.kind] = (totals.byKind[c.kind] ?? 0) + 1
    const fail = (reason: string): void => { totals.failures.push({ n: c.n, kind: c.kind, what: c.what, reason }) }
    if (outcome.kind === 'answer' && (c.mayClose || c.endAfterWrite) && parserRefusal(outcome.response)) totals.closed++
    else if (outcome.kind === 'answer') {
      totals.answered++
      const status = String(outcome.response.status)
      totals.byStatus[status] = (totals.byStatus[status] ?? 0) + 1
      const problem = shapeProblem(outcome.response)
      if (problem !== undefined) fail(`${problem}: ${outcome.response.body.slice(0, 120)}`)
    } else if (outcome.kind === 'garbage') fail(outcome.error)
    else if (c.mayClose || c.endAfterWrite || writeMs > o.bodyTimeoutMs) totals.closed++
    else fail(outcome.kind === 'closed' ? 'connection closed without an answer' : `no answer within ${ANSWER_WAIT_MS} ms`)
  }
  const lane = async (): Promise<void> => {
    const keepAlive = new FuzzConnection(o)
    while (next < first + o.count) {
      const c = buildCase(o.target, o.seed, next++)
      const conn = c.mayClose || c.endAfterWrite ? new FuzzConnection(o) : keepAlive
      try {
        if (!conn.usable) await conn.open()
      } catch (err) {
        totals.requests++
        totals.failures.push({ n: c.n, kind: c.kind, what: c.what, reason: `cannot connect: ${(err as Error).message}` })
        continue
      }
      const outcome = await conn.send(c.bytes, { split: c.split, end: c.endAfterWrite, timeoutMs: c.mayClose || c.endAfterWrite ? FRAMING_WAIT_MS : ANSWER_WAIT_MS })
      judge(c, outcome, conn.writeMs)
      if (conn !== keepAlive) conn.close()
    }
    keepAlive.close()
  }
  await Promise.all(Array.from({ length: o.lanes }, lane))
  totals.ms = Date.now() - started
  return totals
}

export function fuzzSummary (t: FuzzTotals): string {
  const statuses = Object.entries(t.byStatus).sort().map(([s, n]) => `${s}: ${n}`).join(', ')
  const kinds = Object.entries(t.byKind).map(([k, n]) => `${k} ${n}`).join(', ')
  const lines = [`fuzz seed ${t.seed}: ${t.requests} requests in ${(t.ms / 1000).toFixed(1)} s (${kinds}); ` +
    `${t.answered} answered (${statuses}), ${t.closed} closed or refused by the HTTP parser on broken framing, ${t.failures.length} failures`]
  for (const f of t.failures.slice(0, 20)) lines.push(`  FAILED case ${f.n} (--seed ${t.seed} --case ${f.n}) ${f.kind} [${f.what}]: ${f.reason}`)
  return lines.join('\n')
}
