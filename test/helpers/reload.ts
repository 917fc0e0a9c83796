/**
 * What the reload tests (cluster and in place) replace under load: a second certificate with a CA bundle that
 * trusts both, a second SigV4 credential with its secret in a file, and the certificate a new connection gets.
 */
import { execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import type { Credential } from './signed-load'

export interface NewCertificate {
  files: { certFile: string, keyFile: string }
  /** The dev CA file plus the new certificate: clients with it trust the old and the new one. */
  bundle: string
  fingerprint256: string
}

/** A new self-signed certificate for localhost in `dir`/tls-new, valid `days` days. */
export function newCertificate (dir: string, caFile: string, days: number): NewCertificate {
  const files = { certFile: path.join(dir, 'tls-new', 'cert.pem'), keyFile: path.join(dir, 'tls-new', 'key.pem') }
  fs.mkdirSync(path.dirname(files.certFile), { mode: 0o700 })
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', String(days), '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', files.keyFile, '-out', files.certFile], { stdio: 'pipe' })
  const bundle = path.join(dir, 'ca-bundle.pem')
  fs.writeFileSync(bundle, fs.readFileSync(caFile, 'utf8') + fs.readFileSync(files.certFile, 'utf8'))
  return { files, bundle, fingerprint256: new crypto.X509Certificate(fs.readFileSync(files.certFile)).fingerprint256 }
}

/**
 * A fresh credential whose access key id starts with `letter`, its secret in `dir`/secrets, and its entry for
 * `keyStores[].credentials`.
 */
export function newCredential (dir: string, letter: string): { credential: Credential, entry: Record<string, unknown> } {
  const credential: Credential = {
    accessKeyId: letter.repeat(4) + crypto.randomBytes(10).toString('hex').toUpperCase().replace(/[^A-Z]/g, 'Q').slice(0, 16).padEnd(16, 'Q'),
    secretAccessKey: crypto.randomBytes(32).toString('base64'),
  }
  const secretFile = path.join(dir, 'secrets', `${letter.toLowerCase()}-secret`)
  fs.writeFileSync(secretFile, credential.secretAccessKey + '\n', { mode: 0o600 })
  return { credential, entry: { accessKeyId: credential.accessKeyId, secretAccessKey: { file: secretFile }, createdAt: '2026-01-01T00:00:00Z' } }
}

/** The SHA-256 fingerprint of the certificate a new TLS connection to the endpoint is served. */
export async function servedFingerprint (connection: { endpoint: string, caFile: string }): Promise<string> {
  const url = new URL(connection.endpoint)
  return await new Promise((resolve, reject) => {
    const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca: fs.readFileSync(connection.caFile), servername: 'localhost' }, () => {
      resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '')
      socket.destroy()
    })
    socket.on('error', reject)
  })
}
