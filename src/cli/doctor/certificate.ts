/**
 * The doctor's look at the TLS certificate file: the chain in order up to a root KMS could trust, the key
 * belonging to the leaf, the host name, the days to expiry. KMS builds the path from what the proxy sends to a
 * public root (docs/xks-spec.md §2), so a missing intermediate fails every KMS connection.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto'
import fs from 'node:fs'
import { rootCertificates } from 'node:tls'
import type { Check } from './check'

const DAY_MS = 86_400_000
const WARN_DAYS = 30
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

const issues = (issuer: X509Certificate, cert: X509Certificate): boolean => cert.checkIssued(issuer) && cert.verify(issuer.publicKey)
const oneLine = (name: string): string => name.split('\n').join(', ')

export function certificateChecks (files: { certFile: string, keyFile: string }, hostname: string | undefined, now = Date.now()): Check[] {
  let chain: X509Certificate[]
  try {
    chain = (fs.readFileSync(files.certFile, 'utf8').match(PEM_BLOCK) ?? []).map(pem => new X509Certificate(pem))
  } catch (err) {
    return [{ name: 'certificate', status: 'fail', detail: `${files.certFile}: ${(err as Error).message}` }]
  }
  if (chain.length === 0) return [{ name: 'certificate', status: 'fail', detail: `${files.certFile} holds no PEM certificate` }]
  const leaf = chain[0]
  return [chainCheck(chain), keyCheck(leaf, files.keyFile), hostnameCheck(leaf, hostname), expiryCheck(chain, now)]
}

function chainCheck (chain: X509Certificate[]): Check {
  for (let i = 1; i < chain.length; i++) {
    if (!issues(chain[i], chain[i - 1])) return { name: 'certificate chain', status: 'fail', detail: `certificate ${i} (${oneLine(chain[i].subject)}) did not issue the one before it: put the leaf first, then each issuer in order` }
  }
  const last = chain[chain.length - 1]
  const root = rootCertificates.map(pem => new X509Certificate(pem)).find(r => issues(r, last))
  if (root !== undefined) return { name: 'certificate chain', status: 'ok', detail: `${chain.length} certificate(s), up to the public root ${oneLine(root.subject)}` }
  if (issues(last, last)) {
    return chain.length === 1
      ? { name: 'certificate chain', status: 'warn', detail: 'self-signed: fine for local tests, but KMS accepts only a chain to a public CA it trusts' }
      : { name: 'certificate chain', status: 'warn', detail: `ends at ${oneLine(last.subject)}, which is not a public root KMS trusts` }
  }
  return { name: 'certificate chain', status: 'fail', detail: `incomplete: nothing in the file or among the public roots issued ${oneLine(last.subject)}; append the intermediates after the leaf` }
}

function keyCheck (leaf: X509Certificate, keyFile: string): Check {
  try {
    const matches = leaf.checkPrivateKey(createPrivateKey(fs.readFileSync(keyFile)))
    return matches ? { name: 'certificate key', status: 'ok', detail: `${keyFile} belongs to the certificate` } : { name: 'certificate key', status: 'fail', detail: `${keyFile} does not belong to the certificate` }
  } catch (err) {
    return { name: 'certificate key', status: 'fail', detail: `${keyFile}: ${(err as Error).message}` }
  }
}

function hostnameCheck (leaf: X509Certificate, hostname: string | undefined): Check {
  const names = (leaf.subjectAltName ?? '').split(', ').filter(n => n !== '').join(', ') || oneLine(leaf.subject)
  if (hostname === undefined) return { name: 'certificate host name', status: 'unknown', detail: `not checked (give --hostname); it names ${names}` }
  return leaf.checkHost(hostname) !== undefined
    ? { name: 'certificate host name', status: 'ok', detail: `covers ${hostname}` }
    : { name: 'certificate host name', status: 'fail', detail: `does not cover ${hostname}; it names ${names}` }
}

function expiryCheck (chain: X509Certificate[], now: number): Check {
  const notBefore = Math.max(...chain.map(c => Date.parse(c.validFrom)))
  const notAfter = Math.min(...chain.map(c => Date.parse(c.validTo)))
  const days = Math.floor((notAfter - now) / DAY_MS)
  const when = new Date(notAfter).toISOString()
  if (notBefore > now) return { name: 'certificate validity', status: 'fail', detail: `not valid before ${new Date(notBefore).toISOString()}` }
  if (notAfter <= now) return { name: 'certificate validity', status: 'fail', detail: `expired on ${when}` }
  return { name: 'certificate validity', status: days < WARN_DAYS ? 'warn' : 'ok', detail: `${days} days to expiry (${when})` }
}
