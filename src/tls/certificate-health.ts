/**
 * Certificate hygiene, as a pure inspection of PEM text: is the served chain complete (leaf, then each issuer, up
 * to a root that is either in the file or among the trusted roots), does the key belong to the leaf, how long until
 * the first certificate of the chain expires, which host names does the leaf cover. The startup check, the config
 * check, `xksgate doctor` and a reload's pre-check all use it, so they cannot disagree.
 *
 * KMS builds the path from what the proxy sends to a root it trusts (docs/xks-spec.md §2): a missing
 * intermediate fails every KMS connection while browsers (which fetch intermediates) may still work.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { pemCertificates } from './client-auth'

/** Below this many days to expiry a warning is logged at startup. */
export const EXPIRY_WARNING_DAYS = 30
const DAY_MS = 86_400_000

/** Problems about the files as a whole, which callers name by their own field. */
export const NO_CERTIFICATE = 'the file holds no PEM certificate'
export const NO_KEY = 'the key file holds no unencrypted PEM private key'
export const KEY_MISMATCH = 'the private key does not belong to the certificate'

export interface ChainEntry {
  subject: string
  issuer: string
  notAfter: Date
}

export interface CertificateHealth {
  /** Leaf first, as in the file. Empty when the file holds no certificate. */
  chain: ChainEntry[]
  /** DNS names and IP addresses of the leaf's subjectAltName, then its CN when it has no subjectAltName. */
  hostnames: string[]
  /** The earliest expiry in the chain (what breaks first); NaN without a certificate. */
  notAfter: Date
  daysToExpiry: number
  /** Faults that must stop a start: expired, not yet valid, chain broken or incomplete, key not the leaf's. */
  problems: string[]
  /** What an operator must act on soon (expiry within EXPIRY_WARNING_DAYS). */
  warnings: string[]
}

export interface InspectInput {
  certPem: string
  /** The unencrypted private key; omitted: not checked. */
  keyPem?: string
  /** Trusted roots as PEM (e.g. tls.rootCertificates plus the system bundle). */
  roots: readonly string[]
  now?: number
}

export function inspectCertificate ({ certPem, keyPem, roots, now = Date.now() }: InspectInput): CertificateHealth {
  const problems: string[] = []
  const warnings: string[] = []
  const certs = parseAll(certPem, problems)
  const chain = certs.map(c => ({ subject: oneLine(c.subject), issuer: oneLine(c.issuer), notAfter: new Date(c.validTo) }))
  if (certs.length === 0) {
    if (problems.length === 0) problems.push(NO_CERTIFICATE)
    return { chain, hostnames: [], notAfter: new Date(NaN), daysToExpiry: NaN, problems, warnings }
  }
  const leaf = certs[0]
  if (keyPem !== undefined) problems.push(...keyProblems(leaf, keyPem))
  certs.forEach((cert, i) => {
    const which = i === 0 ? 'the certificate' : `chain certificate ${i} (${oneLine(cert.subject)})`
    if (Date.parse(cert.validTo) <= now) problems.push(`${which} expired on ${new Date(cert.validTo).toISOString()}`)
    if (Date.parse(cert.validFrom) > now) problems.push(`${which} is not valid before ${new Date(cert.validFrom).toISOString()}`)
    const next = certs[i + 1]
    if (next !== undefined && !issues(next, cert)) {
      problems.push(`chain certificate ${i + 1} (${oneLine(next.subject)}) did not issue ${which}: put the leaf first, then each issuer in order`)
    }
  })
  const last = certs[certs.length - 1]
  if (!issues(last, last) && !roots.some(pem => issuesPem(pem, last))) {
    problems.push(`the chain is incomplete: nothing in the file or among the trusted roots issued ${oneLine(last.subject)} ` +
      `(issuer ${oneLine(last.issuer)}); append the intermediate certificates after the leaf`)
  }
  const notAfter = new Date(Math.min(...certs.map(c => Date.parse(c.validTo))))
  const daysToExpiry = (notAfter.getTime() - now) / DAY_MS
  if (daysToExpiry > 0 && daysToExpiry < EXPIRY_WARNING_DAYS) {
    warnings.push(`the certificate chain expires in ${Math.floor(daysToExpiry)} days (${notAfter.toISOString()}): replace it`)
  }
  return { chain, hostnames: hostnames(leaf), notAfter, daysToExpiry, problems, warnings }
}

function parseAll (pem: string, problems: string[]): X509Certificate[] {
  const certs: X509Certificate[] = []
  for (const [i, block] of pemCertificates(pem).entries()) {
    try {
      certs.push(new X509Certificate(block))
    } catch {
      problems.push(`certificate ${i} of the file cannot be parsed`)
    }
  }
  return certs
}

function keyProblems (leaf: X509Certificate, keyPem: string): string[] {
  try {
    return leaf.checkPrivateKey(createPrivateKey(keyPem)) ? [] : [KEY_MISMATCH]
  } catch {
    return [NO_KEY]
  }
}

/** `issuer` signed `cert`: names match and the signature verifies with the issuer's key. */
function issues (issuer: X509Certificate, cert: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey)
}

function issuesPem (rootPem: string, cert: X509Certificate): boolean {
  try {
    return issues(new X509Certificate(rootPem), cert)
  } catch {
    return false
  }
}

function hostnames (leaf: X509Certificate): string[] {
  const sans = (leaf.subjectAltName ?? '').split(', ').filter(e => e.startsWith('DNS:') || e.startsWith('IP Address:'))
  if (sans.length > 0) return sans.map(e => e.slice(e.indexOf(':') + 1))
  return leaf.subject.split('\n').filter(l => l.startsWith('CN=')).map(l => l.slice(3))
}

function oneLine (name: string): string {
  return name.split('\n').join(', ')
}
