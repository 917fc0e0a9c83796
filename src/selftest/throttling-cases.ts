/**
 * Throttling (docs/xks-spec.md §7.2, §13): a proxy that cannot keep up answers 429 ThrottlingException (or 503
 * DependencyTimeoutException for a request it took on and could not finish in time), both retryable for KMS; an
 * HTML page, another error name or a reset connection reaches the KMS caller as a different error. Provoking a
 * 429 means loading the proxy, which a selftest must not do to a serving proxy unasked: by default the case
 * checks every 429 the run happened to receive; `--burst N` first opens N connections (N health checks, since
 * TLS handshakes take longer than requests) and then sends N Encrypts at once on them.
 */
import { encryptBody, healthBody, SAMPLE } from './bodies'
import { check, checkError } from './check'
import type { XksReply } from './client'
import type { SelftestCase } from './suite'

export const throttlingCases: SelftestCase[] = [
  {
    name: 'every 429 is a ThrottlingException error body',
    run: async ctx => {
      let timedOut = 0
      if (ctx.burst > 0) {
        const path = ctx.keyPath(ctx.key('encryptDecrypt'), 'encrypt')
        const wave = async (send: () => Promise<XksReply>): Promise<XksReply[]> => await Promise.all(Array.from({ length: ctx.burst }, send))
        // First N health checks open N connections (TLS handshakes take longer than a request), so that the N
        // Encrypts then reach the proxy together.
        const warmUp = await wave(async () => await ctx.client.send({ path: ctx.healthPath, body: healthBody() }))
        const replies = [...warmUp, ...await wave(async () => await ctx.client.send({ path, body: encryptBody({ plaintext: SAMPLE.hello }) }))]
        // A request the proxy took on but could not finish in time is a 503 DependencyTimeoutException, retryable
        // too (docs/xks-spec.md §7.2); anything else is not how an overloaded proxy may answer.
        const other = replies.find(r => r.status !== 200 && r.status !== 429 && r.status !== 503)
        check(other === undefined, `a burst request got neither 200, 429 nor 503: ${other?.status} ${other?.body}`)
        for (const res of replies.filter(r => r.status === 503)) checkError(res, 503, 'DependencyTimeoutException')
        timedOut = replies.filter(r => r.status === 503).length
      }
      const throttled = ctx.client.replies.filter(r => r.status === 429)
      for (const res of throttled) checkError(res, 429, 'ThrottlingException')
      const burst = ctx.burst > 0 ? ` (a burst of ${ctx.burst}: ${timedOut} answered 503 DependencyTimeoutException)` : ' (--burst N sends N Encrypts at once to provoke one)'
      return (throttled.length === 0 ? 'no 429 seen' : `${throttled.length} 429(s) seen, each well-formed`) + burst
    },
  },
]
