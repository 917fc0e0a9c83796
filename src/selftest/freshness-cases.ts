/**
 * SigV4 freshness (docs/xks-spec.md §8.3): a signature up to 300 s away from the proxy's clock, either way, is
 * accepted and one 301 s away is not; and a signature is accepted only once (xksgate's replay rule, §13 — the
 * spec leaves it open, so a proxy without replay protection fails only that case).
 *
 * Choosing the signing time. X-Amz-Date has one-second resolution; the proxy compares it with its own clock,
 * which reads S + e when the request is checked (S a whole second, 0 ≤ e < 1 s). A date of S + 300 s is then
 * 300 - e s ahead and S + 301 s is 301 - e s ahead: accepted and refused for every e in [0, 1). Behind the clock,
 * S + 1 - 300 s is 299 + e s and S + 1 - 301 s is 300 + e s behind: accepted and refused for every e in (0, 1).
 * So each case is decided by the second S the request is checked in. The suite measures the round trip first
 * and sends each request so that it should reach the proxy half a second into S: the outcome then tolerates
 * ±0.5 s of network delay, scheduling and clock difference between this host and the proxy (whose clock KMS
 * needs within a few seconds anyway).
 */
import { healthBody } from './bodies'
import { check, checkError } from './check'
import type { SelftestCase, SelftestContext } from './suite'

const SECOND = 1000
const TARGET_INTO_SECOND_MS = 500

/** Median of a few health round trips on the warm connection: the time a request takes to reach the proxy ≤ it. */
async function roundTripMs (ctx: SelftestContext): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < 3; i++) {
    const started = performance.now()
    await ctx.client.send({ path: ctx.healthPath, body: healthBody() })
    times.push(performance.now() - started)
  }
  return times.sort((a, b) => a - b)[1]
}

/** Waits until a request sent now should be checked TARGET_INTO_SECOND_MS into a second; returns that second. */
async function nextArrivalSecond (oneWayMs: number): Promise<number> {
  const arrival = Date.now() + oneWayMs
  let wait = TARGET_INTO_SECOND_MS - (arrival % SECOND)
  if (wait < 0) wait += SECOND
  await new Promise(resolve => setTimeout(resolve, wait))
  return Math.floor((Date.now() + oneWayMs) / SECOND) * SECOND
}

function skewCase (label: string, offsetFromSecondMs: number, accepted: boolean): SelftestCase {
  return {
    name: `X-Amz-Date ${label} the proxy's clock → ${accepted ? '200' : '401 AuthenticationFailedException'}`,
    run: async ctx => {
      const oneWayMs = (await roundTripMs(ctx)) / 2
      const second = await nextArrivalSecond(oneWayMs)
      const res = await ctx.client.send({ path: ctx.healthPath, body: healthBody(), signedAt: new Date(second + offsetFromSecondMs) })
      const hint = ` (this host's clock must be within 0.5 s of the proxy's; the proxy's Date header said ${String(res.headers.date ?? 'nothing')})`
      const status = accepted ? 200 : 401
      check(res.status === status, `expected ${status}, got ${res.status} ${res.body}${hint}`)
      if (!accepted) checkError(res, 401, 'AuthenticationFailedException')
    },
  }
}

export const freshnessCases: SelftestCase[] = [
  skewCase('300 s ahead of', 300 * SECOND, true),
  skewCase('301 s ahead of', 301 * SECOND, false),
  skewCase('300 s behind', SECOND - 300 * SECOND, true),
  skewCase('301 s behind', SECOND - 301 * SECOND, false),
  {
    name: 'the same signed request sent twice → 200, then 401 AuthenticationFailedException (replay)',
    run: async ctx => {
      const signed = ctx.client.sign({ path: ctx.healthPath, body: healthBody() })
      const first = await ctx.client.sendSigned(signed)
      check(first.status === 200, `the first use was refused: ${first.status} ${first.body}`)
      checkError(await ctx.client.sendSigned(signed), 401, 'AuthenticationFailedException')
    },
  },
]
