/**
 * The doctor's look at the TLS certificate file: the chain in order up to a root KMS could trust, the key
 * belonging to the leaf, the host name, the days to expiry. KMS builds the path from what the proxy sends to a
 * public root (docs/xks-spec.md §2), so a missing intermediate fails every KMS connection.
 *
 * The facts come from the same inspection the startup check uses (src/tls/certificate-health.ts); only the grading
 * differs: a chain that ends at a private or self-signed root starts (fine for a local trial) but the doctor warns,
 * because KMS trusts public roots only.
 */
import type { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import { rootCertificates } from 'node:tls'
import { EXPIRY_WARNING_DAYS, type ChainFacts, examineChain, keyBelongs, oneLine, parseCertificates, validityProblem } from '../../tls/certificate-health'
import type { Check } from './check'

const DAY_MS = 86_400_000

export function certificateChecks (files: { certFile: string, keyFile: string }, hostname: string | undefined, now = Date.now()): Check[] {
  const unreadable: string[] = []
  let chain: X509Certificate[]
  try {
    chain = parseCertificates(fs.readFileSync(files.certFile, 'utf8'), unreadable)
  } catch (err) {
    return [{ name: 'certificate', status: 'fail', detail: `${files.certFile}: ${(err as Error).message}` }]
  }
  if (unreadable.length > 0) return [{ name: 'certificate', status: 'fail', detail: `${files.certFile}: ${unreadable.join('; ')}` }]
  if (chain.length === 0) return [{ name: 'certificate', status: 'fail', detail: `${files.certFile} holds no PEM certificate` }]
  const facts = examineChain(chain, rootCertificates, now)
  return [chainCheck(chain, facts), keyCheck(chain[0], files.keyFile), hostnameCheck(chain[0], hostname), expiryCheck(facts, now)]
}

function chainCheck (chain: X509Certificate[], { misorderedAt, anchor }: ChainFacts): Check {
  const fail = (detail: string): Check => ({ name: 'certificate chain', status: 'fail', detail })
  const warn = (detail: string): Check => ({ name: 'certificate chain', status: 'warn', detail })
  if (misorderedAt !== undefined) {
    return fail(`certificate ${misorderedAt} (${oneLine(chain[misorderedAt].subject)}) did not issue the one before it: put the leaf first, then each issuer in order`)
  }
  switch (anchor.kind) {
    case 'trusted-root':
      return { name: 'certificate chain', status: 'ok', detail: `${chain.length} certificate(s), up to the public root ${anchor.subject}` }
    case 'self-signed':
      return chain.length === 1
        ? warn('self-signed: fine for local tests, but KMS accepts only a chain to a public CA it trusts')
        : warn(`ends at ${anchor.subject}, which is not a public root KMS trusts`)
    case 'unknown':
      return fail(`incomplete: nothing in the file or among the public roots issued ${oneLine(chain[chain.length - 1].subject)}; append the intermediates after the leaf`)
  }
}

function keyCheck (leaf: X509Certificate, keyFile: string): Check {
  let keyPem: Buffer
  try {
    keyPem = fs.readFileSync(keyFile)
  } catch (err) {
    return { name: 'certificate key', status: 'fail', detail: `${keyFile}: ${(err as Error).message}` }
  }
  switch (keyBelongs(leaf, keyPem)) {
    case 'yes': return { name: 'certificate key', status: 'ok', detail: `${keyFile} belongs to the certificate` }
    case 'no': return { name: 'certificate key', status: 'fail', detail: `${keyFile} does not belong to the certificate` }
    case 'unreadable': return { name: 'certificate key', status: 'fail', detail: `${keyFile} holds no unencrypted PEM private key` }
  }
}

function hostnameCheck (leaf: X509Certificate, hostname: string | undefined): Check {
  const names = (leaf.subjectAltName ?? '').split(', ').filter(n => n !== '').join(', ') || oneLine(leaf.subject)
  if (hostname === undefined) return { name: 'certificate host name', status: 'unknown', detail: `not checked (give --hostname); it names ${names}` }
  return leaf.checkHost(hostname) !== undefined
    ? { name: 'certificate host name', status: 'ok', detail: `covers ${hostname}` }
    : { name: 'certificate host name', status: 'fail', detail: `does not cover ${hostname}; it names ${names}` }
}

function expiryCheck ({ invalid, notAfter }: ChainFacts, now: number): Check {
  if (invalid.length > 0) return { name: 'certificate validity', status: 'fail', detail: invalid.map(validityProblem).join('; ') }
  const days = Math.floor((notAfter.getTime() - now) / DAY_MS)
  return { name: 'certificate validity', status: days < EXPIRY_WARNING_DAYS ? 'warn' : 'ok', detail: `${days} days to expiry (${notAfter.toISOString()})` }
}
