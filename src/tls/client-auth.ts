/**
 * Strict mTLS for the KMS link (docs/xks-spec.md §9): KMS presents a certificate for `cks.kms.<region>.amazonaws.com`
 * chained to Amazon Trust Services. Anyone can get a certificate that chains to Amazon's public roots, so the chain
 * alone proves nothing: the subject must be KMS's too. Both the CN and every subjectAltName are checked; a
 * certificate that also names anything else is refused.
 */
import { X509Certificate } from 'node:crypto'

export interface ClientAuthPolicy {
  /** PEM certificates of the CAs a client certificate must chain to. */
  caPems: string[]
  /** Whether a DNS name (lower-cased) is an allowed client subject. */
  allows: (name: string) => boolean
  /** The allowed subjects, for logs and messages. */
  description: string
}

/** An AWS region as the key stores' allowedRegions spell it. */
const REGION = '[a-z]{2}(?:-[a-z]+)+-\\d+'
const ANY_KMS_REGION = new RegExp(`^cks\\.kms\\.${REGION}\\.amazonaws\\.com$`)

/** KMS's client certificate subject in a region. */
export function kmsClientSubject (region: string): string {
  return `cks.kms.${region}.amazonaws.com`
}

/**
 * The subjects to accept: `allowedSubjects` when given; otherwise KMS's subject in each region the key stores allow,
 * or in any region when some key store allows any (the TLS handshake does not know which key store a request is for).
 */
export function allowedSubjectsMatcher (allowedSubjects: readonly string[] | undefined,
  storeRegions: ReadonlyArray<readonly string[] | undefined>): Pick<ClientAuthPolicy, 'allows' | 'description'> {
  if (allowedSubjects === undefined && storeRegions.some(regions => regions === undefined)) {
    return { allows: name => ANY_KMS_REGION.test(name), description: 'cks.kms.<any region>.amazonaws.com' }
  }
  const names = allowedSubjects ?? storeRegions.flatMap(regions => (regions ?? []).map(kmsClientSubject))
  const set = new Set(names.map(n => n.toLowerCase()))
  return { allows: name => set.has(name), description: [...set].join(', ') }
}

/**
 * Why a client certificate (DER) is refused by subject, or undefined when every name in it is allowed. Its chain
 * and validity were verified by the TLS stack already.
 */
export function subjectRefusal (der: Buffer, allows: (name: string) => boolean): string | undefined {
  const cert = new X509Certificate(der)
  const cns = commonNames(cert.subject)
  const sans = (cert.subjectAltName ?? '').split(', ').filter(entry => entry !== '')
  if (cns.length === 0 && sans.length === 0) return 'the certificate names no subject'
  for (const cn of cns) {
    if (!allows(cn.toLowerCase())) return `subject CN ${JSON.stringify(cn)} is not an allowed client`
  }
  for (const san of sans) {
    if (!san.startsWith('DNS:')) return `subjectAltName ${JSON.stringify(san)} is not a DNS name`
    const name = san.slice(4)
    if (!allows(name.toLowerCase())) return `subjectAltName DNS:${JSON.stringify(name)} is not an allowed client`
  }
  return undefined
}

/** The CN values of X509Certificate.subject ("C=US\nCN=a"; Node escapes special characters in quoted form). */
function commonNames (subject: string): string[] {
  return subject.split('\n').filter(line => line.startsWith('CN=')).map(line => line.slice(3))
}

/** Splits a PEM bundle into its certificates. */
export function pemCertificates (pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []
}
