/**
 * `npm run dev -- --mtls`: a private client CA and a client certificate for KMS's subject in the dev region,
 * created on first use in DIR/mtls and reused afterwards (renewed when under a week from expiry). The CA's key is
 * kept beside it, so tools can mint other client certificates (connection.json names all four files).
 */
import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { kmsClientSubject } from '../tls/client-auth'
import { type CertFiles, createCa, issueClientCert } from './tls-cert'

export interface DevClientAuth {
  ca: CertFiles
  client: CertFiles
  subject: string
}

const RENEW_BEFORE_MS = 7 * 86_400_000

export function ensureDevClientAuth (dir: string, region: string): DevClientAuth {
  const mtlsDir = path.join(dir, 'mtls')
  const subject = kmsClientSubject(region)
  const existingCa = { certFile: path.join(mtlsDir, 'ca_cert.pem'), keyFile: path.join(mtlsDir, 'ca_key.pem') }
  const ca = usable(existingCa) ? existingCa : createCa(mtlsDir, 'xksgate dev client CA')
  const existingClient = { certFile: path.join(mtlsDir, 'client_cert.pem'), keyFile: path.join(mtlsDir, 'client_key.pem') }
  const client = usable(existingClient, ca) ? existingClient : issueClientCert(ca, { dir: mtlsDir, name: 'client', commonName: subject })
  return { ca, client, subject }
}

/** Present, valid for another week, and (for a client certificate) issued by the current CA. */
function usable (files: CertFiles, issuer?: CertFiles): boolean {
  if (!fs.existsSync(files.certFile) || !fs.existsSync(files.keyFile)) return false
  const cert = new X509Certificate(fs.readFileSync(files.certFile))
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return false
  return issuer === undefined || cert.verify(new X509Certificate(fs.readFileSync(issuer.certFile)).publicKey)
}
