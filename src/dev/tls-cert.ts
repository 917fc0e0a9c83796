/**
 * A self-signed certificate for the embedded default, made with the openssl command line. KMS itself needs a
 * certificate from a public CA (docs/xks-spec.md §2); this one is for local use and the conformance test client only.
 */
import { execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

// Renew when fewer days than this remain, so a long-lived dev directory never serves an expired certificate.
const RENEW_BEFORE_DAYS = 7

export interface CertFiles { certFile: string, keyFile: string }

export function ensureSelfSignedCert (dir: string): CertFiles {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const files = { certFile: path.join(dir, 'cert.pem'), keyFile: path.join(dir, 'key.pem') }
  if (fs.existsSync(files.certFile) && fs.existsSync(files.keyFile) && daysLeft(files.certFile) > RENEW_BEFORE_DAYS) return files
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '365',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', files.keyFile, '-out', files.certFile,
    ], { stdio: 'pipe' })
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT'
    throw new Error(missing
      ? 'openssl is not installed. Install it with: sudo apt-get install -y openssl'
      : `openssl could not create a certificate: ${String((err as { stderr?: Buffer }).stderr ?? err)}`)
  }
  fs.chmodSync(files.keyFile, 0o600)
  return files
}

function daysLeft (certFile: string): number {
  const cert = new crypto.X509Certificate(fs.readFileSync(certFile))
  return (Date.parse(cert.validTo) - Date.now()) / 86_400_000
}
