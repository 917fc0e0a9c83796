/**
 * The TLS certificate and key, checked at load time, before the frontend sees them: uWS reports any problem
 * with them only as "App construction failed". Messages name the field and the file, never the key's contents.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'
import fs from 'node:fs'

export function tlsFileProblems ({ certFile, keyFile }: { certFile: string, keyFile: string }): string[] {
  const problems: string[] = []
  const parse = <T>(file: string, field: string, what: string, make: (pem: Buffer) => T): T | undefined => {
    let pem: Buffer
    try {
      pem = fs.readFileSync(file)
    } catch (err) {
      problems.push(`${field}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
      return undefined
    }
    try {
      return make(pem)
    } catch {
      problems.push(`${field}: ${file} holds no ${what}`)
      return undefined
    }
  }
  // A chain file is fine: X509Certificate reads its first certificate, the server's own.
  const cert = parse(certFile, '/server/tls/certFile', 'PEM certificate', pem => new X509Certificate(pem))
  const key: KeyObject | undefined = parse(keyFile, '/server/tls/keyFile', 'unencrypted PEM private key', pem => createPrivateKey(pem))
  if (cert !== undefined && key !== undefined && !cert.checkPrivateKey(key)) {
    problems.push(`/server/tls: the private key in ${keyFile} does not belong to the certificate in ${certFile}`)
  }
  return problems
}
