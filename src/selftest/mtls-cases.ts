/**
 * Mutual TLS (docs/xks-spec.md §9), when the target names a client certificate: every other case already
 * presents it; these check that the proxy ends the handshake for a client with no certificate, a self-signed
 * one, an expired one from the right CA, and one from the right CA for another subject name (the spec's MUST).
 * Refused means no HTTP answer at all; which TLS alert or reset the client sees depends on the TLS stack.
 */
import fs from 'node:fs'
import { healthBody } from './bodies'
import { makeBadClientCerts, type BadClientCerts, type CertPair } from './bad-client-certs'
import { check } from './check'
import { CaseSkipped, type SelftestCase, type SelftestContext } from './suite'

/** Sends a health request on a fresh connection presenting `pair` (or none) and expects no answer. */
async function expectRefused (ctx: SelftestContext, pair: CertPair | undefined): Promise<string> {
  const signed = ctx.client.sign({ path: ctx.healthPath, body: healthBody() })
  const options = {
    agent: false as const,
    ...(ctx.target.caFile !== undefined && { ca: fs.readFileSync(ctx.target.caFile) }),
    ...(pair !== undefined && { cert: fs.readFileSync(pair.certFile), key: fs.readFileSync(pair.keyFile) }),
  }
  const res = await ctx.client.sendSigned(signed, options).catch((err: NodeJS.ErrnoException) => err)
  check(res instanceof Error, `the proxy answered ${'status' in res ? res.status : '?'}: the handshake was not refused`)
  // A refusal ends the connection; silence until the client gives up is no proof of one.
  check(res.code !== undefined, `no refusal: ${res.message}`)
  return `refused (${res.code ?? res.message})`
}

function pairOrSkip (pair: CertPair | undefined): CertPair {
  if (pair === undefined) throw new CaseSkipped('needs the client CA and its key (clientCaFile/clientCaKeyFile)')
  return pair
}

/** The four cases; the bad certificates are made once, on first use, and removed after the last case. */
export function mtlsCases (): SelftestCase[] {
  let certs: BadClientCerts | undefined
  const badCerts = (ctx: SelftestContext): BadClientCerts => {
    const tls = ctx.target.clientTls
    if (tls === undefined) throw new CaseSkipped('no client certificate given (clientCertFile/clientKeyFile)')
    certs ??= makeBadClientCerts(tls)
    return certs
  }
  return [
    { name: 'mTLS: a client without a certificate is refused', run: async ctx => { badCerts(ctx); return await expectRefused(ctx, undefined) } },
    { name: 'mTLS: a self-signed client certificate is refused', run: async ctx => await expectRefused(ctx, badCerts(ctx).selfSigned) },
    { name: 'mTLS: an expired client certificate from the client CA is refused', run: async ctx => await expectRefused(ctx, pairOrSkip(badCerts(ctx).expired)) },
    {
      name: 'mTLS: a client certificate from the client CA for another subject is refused',
      run: async ctx => {
        try {
          return await expectRefused(ctx, pairOrSkip(badCerts(ctx).wrongSubject))
        } finally {
          certs?.remove()
          certs = undefined
        }
      },
    },
  ]
}
