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
  const certs = parseCertificates(certPem, problems)
  const chain = certs.map(c => ({ subject: oneLine(c.subject), issuer: oneLine(c.issuer), notAfter: new Date(c.validTo) }))
  if (certs.length === 0) {
    if (problems.length === 0) problems.push(NO_CERTIFICATE)
    return { chain, hostnames: [], notAfter: new Date(NaN), daysToExpiry: NaN, problems, warnings }
  }
  const facts = examineChain(certs, roots, now)
  if (keyPem !== undefined) {
    const key = keyBelongs(certs[0], keyPem)
    if (key !== 'yes') problems.push(key === 'no' ? KEY_MISMATCH : NO_KEY)
  }
  problems.push(...facts.invalid.map(validityProblem))
  if (facts.misorderedAt !== undefined) problems.push(`${describe(certs, facts.misorderedAt)} did not issue ${describe(certs, facts.misorderedAt - 1)}: put the leaf first, then each issuer in order`)
  if (facts.anchor.kind === 'unknown') {
    const last = certs[certs.length - 1]
    problems.push(`the chain is incomplete: nothing in the file or among the trusted roots issued ${oneLine(last.subject)} ` +
      `(issuer ${oneLine(last.issuer)}); append the intermediate certificates after the leaf`)
  }
  const daysToExpiry = (facts.notAfter.getTime() - now) / DAY_MS
  if (daysToExpiry > 0 && daysToExpiry < EXPIRY_WARNING_DAYS) {
    warnings.push(`the certificate chain expires in ${Math.floor(daysToExpiry)} days (${facts.notAfter.toISOString()}): replace it`)
  }
  return { chain, hostnames: hostnames(certs[0]), notAfter: facts.notAfter, daysToExpiry, problems, warnings }
}

/** What a chain is, before anyone grades it: the startup check refuses on some facts, the doctor warns on others. */
export interface ChainFacts {
  /** The index (≥ 1) of the first certificate that did not issue the one before it; undefined when in order. */
  misorderedAt?: number
  /** Where the chain ends: issued by one of the given roots, at a self-signed certificate in the file, or unknown. */
  anchor: { kind: 'trusted-root' | 'self-signed', subject: string } | { kind: 'unknown' }
  /** Every certificate outside its validity period at `now`, leaf first. */
  invalid: InvalidCertificate[]
  /** The earliest expiry in the chain: what breaks first. */
  notAfter: Date
}

export interface InvalidCertificate {
  /** "the certificate" for the leaf, "chain certificate N (subject)" for the others. */
  which: string
  reason: 'expired' | 'not yet valid'
  at: Date
}

/** `certs` is leaf first and not empty; `roots` are PEM. */
export function examineChain (certs: readonly X509Certificate[], roots: readonly string[], now: number): ChainFacts {
  const misorderedAt = certs.findIndex((cert, i) => i > 0 && !issues(cert, certs[i - 1]))
  const invalid: InvalidCertificate[] = []
  certs.forEach((cert, i) => {
    if (Date.parse(cert.validTo) <= now) invalid.push({ which: describe(certs, i), reason: 'expired', at: new Date(cert.validTo) })
    if (Date.parse(cert.validFrom) > now) invalid.push({ which: describe(certs, i), reason: 'not yet valid', at: new Date(cert.validFrom) })
  })
  return {
    misorderedAt: misorderedAt > 0 ? misorderedAt : undefined,
    anchor: anchorOf(certs[certs.length - 1], roots),
    invalid,
    notAfter: new Date(Math.min(...certs.map(c => Date.parse(c.validTo))))
  }
}

export function validityProblem ({ which, reason, at }: InvalidCertificate): string {
  return reason === 'expired' ? `${which} expired on ${at.toISOString()}` : `${which} is not valid before ${at.toISOString()}`
}

/** Whether the unencrypted PEM private key belongs to the leaf; 'unreadable' when it is not such a key. */
export function keyBelongs (leaf: X509Certificate, keyPem: string | Buffer): 'yes' | 'no' | 'unreadable' {
  try {
    return leaf.checkPrivateKey(createPrivateKey(keyPem)) ? 'yes' : 'no'
  } catch {
    return 'unreadable'
  }
}

/** The PEM certificates of a file, leaf first; a block that does not parse is a problem, never a crash. */
export function parseCertificates (pem: string, problems: string[]): X509Certificate[] {
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

/** `issuer` signed `cert`: names match and the signature verifies with the issuer's key. */
function issues (issuer: X509Certificate, cert: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey)
}

function anchorOf (last: X509Certificate, roots: readonly string[]): ChainFacts['anchor'] {
  for (const pem of roots) {
    let root: X509Certificate
    try {
      root = new X509Certificate(pem)
    } catch {
      continue
    }
    if (issues(root, last)) return { kind: 'trusted-root', subject: oneLine(root.subject) }
  }
  return issues(last, last) ? { kind: 'self-signed', subject: oneLine(last.subject) } : { kind: 'unknown' }
}

function describe (certs: readonly X509Certificate[], i: number): string {
  return i === 0 ? 'the certificate' : `chain certificate ${i} (${oneLine(certs[i].subject)})`
}

function hostnames (leaf: X509Certificate): string[] {
  const sans = (leaf.subjectAltName ?? '').split(', ').filter(e => e.startsWith('DNS:') || e.startsWith('IP Address:'))
  if (sans.length > 0) return sans.map(e => e.slice(e.indexOf(':') + 1))
  return leaf.subject.split('\n').filter(l => l.startsWith('CN=')).map(l => l.slice(3))
}

export function oneLine (name: string): string {
  return name.split('\n').join(', ')
}
