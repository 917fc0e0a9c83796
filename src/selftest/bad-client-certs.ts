/**
 * Client certificates a proxy doing mTLS must refuse (docs/xks-spec.md §9), made with the openssl command line in
 * a private temporary directory: self-signed; issued by the client CA but expired; issued by the client CA for
 * another subject name. The last two need the CA's key, so only a connection file that names it can test them.
 */
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ClientTls } from './target'

export interface CertPair { certFile: string, keyFile: string }

export interface BadClientCerts {
  selfSigned: CertPair
  expired?: CertPair
  wrongSubject?: CertPair
  /** Removes the directory and everything in it. */
  remove: () => void
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']

function openssl (args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' })
}

/**
 * How an expired certificate is dated, tried in order: OpenSSL 3.0 (Debian 12) takes a negative `-days`, which 3.4
 * and later refuse ("end date before start date", Debian 13's 3.5); those take the dates themselves, which 3.0
 * has no option for. Either way it expired a day ago.
 */
function expiredValidity (now = Date.now()): string[][] {
  const day = 86_400_000
  const asn1Time = (ms: number): string => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'
  return [['-days', '-1'], ['-not_before', asn1Time(now - 2 * day), '-not_after', asn1Time(now - day)]]
}

/** A certificate for `subject` from the CA, dated by the first of `validities` this openssl takes. */
function issue (dir: string, name: string, subject: string, validities: string[][], tls: Required<ClientTls>): CertPair {
  const pair = { certFile: path.join(dir, `${name}.pem`), keyFile: path.join(dir, `${name}.key`) }
  const csr = path.join(dir, `${name}.csr`)
  openssl(['req', '-new', ...EC_KEY, '-subj', subject, '-keyout', pair.keyFile, '-out', csr])
  let refused: unknown
  for (const validity of validities) {
    try {
      openssl(['x509', '-req', '-in', csr, '-CA', tls.caFile, '-CAkey', tls.caKeyFile, ...validity, '-out', pair.certFile])
      return pair
    } catch (err) {
      refused = err
    }
  }
  throw refused
}

/** The subject of the configured client certificate, as openssl -subj takes it. */
function subjectOf (certFile: string): string {
  const cert = new X509Certificate(fs.readFileSync(certFile))
  return '/' + cert.subject.split('\n').join('/')
}

export function makeBadClientCerts (tls: ClientTls): BadClientCerts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-selftest-'))
  try {
    const selfSigned = { certFile: path.join(dir, 'self-signed.pem'), keyFile: path.join(dir, 'self-signed.key') }
    openssl(['req', '-x509', ...EC_KEY, '-days', '2', '-subj', subjectOf(tls.certFile), '-keyout', selfSigned.keyFile, '-out', selfSigned.certFile])
    const remove = (): void => fs.rmSync(dir, { recursive: true, force: true })
    if (tls.caFile === undefined || tls.caKeyFile === undefined) return { selfSigned, remove }
    const ca = { ...tls, caFile: tls.caFile, caKeyFile: tls.caKeyFile }
    return {
      selfSigned,
      expired: issue(dir, 'expired', subjectOf(tls.certFile), expiredValidity(), ca),
      wrongSubject: issue(dir, 'wrong-subject', '/CN=not-kms.selftest.invalid', [['-days', '2']], ca),
      remove,
    }
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true })
    throw err
  }
}
