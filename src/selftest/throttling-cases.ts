/**
 * Throttling (docs/xks-spec.md §7.2, §13): a proxy that cannot keep up answers 429 ThrottlingException, which KMS
 * retries; any other shape (a 503, an HTML page, a reset connection) reaches the KMS caller as a different error.
 * Provoking a 429 means loading the proxy, which a selftest must not do to a serving proxy unasked: by default
 * the case checks every 429 the run happened to receive; `--burst N` sends N Encrypts at once first.
 */
import { encryptBody, SAMPLE } from './bodies'
import { check, checkError } from './check'
import type { SelftestCase } from './suite'

export const throttlingCases: SelftestCase[] = [
  {
    name: 'every 429 is a ThrottlingException error body',
    run: async ctx => {
      if (ctx.burst > 0) {
        const path = ctx.keyPath(ctx.key('encryptDecrypt'), 'encrypt')
        const burst = Array.from({ length: ctx.burst }, async () => await ctx.client.send({ path, body: encryptBody({ plaintext: SAMPLE.hello }) }))
        const replies = await Promise.all(burst)
        const other = replies.find(r => r.status !== 200 && r.status !== 429)
        check(other === undefined, `a burst request got neither 200 nor 429: ${other?.status} ${other?.body}`)
      }
      const throttled = ctx.client.replies.filter(r => r.status === 429)
      for (const res of throttled) checkError(res, 429, 'ThrottlingException')
      return throttled.length === 0
        ? `no 429 seen${ctx.burst > 0 ? ` in a burst of ${ctx.burst}` : ' (--burst N sends N Encrypts at once to provoke one)'}`
        : `${throttled.length} 429(s) seen, each well-formed`
    },
  },
]
