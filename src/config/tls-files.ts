/**
 * The TLS files, checked at load time, before a frontend sees them (uWS reports any problem with them only as
 * "App construction failed"): the served chain and its key through the certificate-health inspection, and the
 * client CAs of strict mTLS. Messages name the field and the file, never the key's contents.
 */
import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import tls from 'node:tls'
import { type CertificateHealth, KEY_MISMATCH, NO_CERTIFICATE, NO_KEY, inspectCertificate } from '../tls/certificate-health'
import { pemCertificates } from '../tls/client-auth'
import { readRegularFile } from './read-regular-file'

/** Debian's and Ubuntu's bundle of the system's trusted roots (ca-certificates), when present. */
const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt'

/** Node's bundled roots and the system's: what a chain may end at without including its root. */
export function trustedRoots (): string[] {
  let system: string[] = []
  try {
    system = pemCertificates(fs.readFileSync(SYSTEM_BUNDLE, 'utf8'))
  } catch { /* no system bundle: Node's own roots only */ }
  return [...tls.rootCertificates, ...system]
}

/** Reads and inspects the served certificate; undefined (with a problem) when a file cannot be read. */
export function inspectTlsFiles ({ certFile, keyFile }: { certFile: string, keyFile: string }, problems: string[] = []): CertificateHealth | undefined {
  const read = (file: string, field: string): string | undefined => {
    const contents = readRegularFile(file)
    if (typeof contents === 'string') return contents
    problems.push(`${field}: cannot read ${file}: ${contents.problem}`)
    return undefined
  }
  const certPem = read(certFile, '/server/tls/certFile')
  const keyPem = read(keyFile, '/server/tls/keyFile')
  if (certPem === undefined || keyPem === undefined) return undefined
  return inspectCertificate({ certPem, keyPem, roots: trustedRoots() })
}

export function tlsFileProblems (files: { certFile: string, keyFile: string }): string[] {
  return checkTlsFiles(files).problems
}

/** The inspection, and its problems as configuration errors naming the field and the file. */
export function checkTlsFiles (files: { certFile: string, keyFile: string }): { problems: string[], health?: CertificateHealth } {
  const problems: string[] = []
  const health = inspectTlsFiles(files, problems)
  const { certFile, keyFile } = files
  for (const problem of health?.problems ?? []) {
    if (problem === NO_CERTIFICATE) problems.push(`/server/tls/certFile: ${certFile} holds no PEM certificate`)
    else if (problem === NO_KEY) problems.push(`/server/tls/keyFile: ${keyFile} holds no unencrypted PEM private key`)
    else if (problem === KEY_MISMATCH) problems.push(`/server/tls: the private key in ${keyFile} does not belong to the certificate in ${certFile}`)
    else problems.push(`/server/tls/certFile: ${certFile}: ${problem}`)
  }
  return { problems, health }
}

/** Each client CA file must hold at least one CA certificate. */
export function clientCaProblems (caFiles: readonly string[]): string[] {
  const problems: string[] = []
  caFiles.forEach((file, i) => {
    const field = `/server/tls/clientAuth/caFiles/${i}`
    const contents = readRegularFile(file)
    if (typeof contents !== 'string') {
      problems.push(`${field}: cannot read ${file}: ${contents.problem}`)
      return
    }
    const pems = pemCertificates(contents)
    const cas = pems.filter(pem => { try { return new X509Certificate(pem).ca } catch { return false } })
    if (cas.length === 0) problems.push(`${field}: ${file} holds no PEM CA certificate`)
  })
  return problems
}

/** The client CAs' PEM certificates, for the TLS server (files already checked at load). */
export function readClientCas (caFiles: readonly string[]): string[] {
  return caFiles.flatMap(file => pemCertificates(fs.readFileSync(file, 'utf8')))
}
