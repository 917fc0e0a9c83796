import { execFileSync } from 'node:child_process'
import path from 'node:path'

/** A throwaway self-signed P-256 certificate for the baseline servers (traffic stays on 127.0.0.1). */
export function selfSignedCert (dir: string): { cert: string, key: string } {
  const cert = path.join(dir, 'bench-cert.pem')
  const key = path.join(dir, 'bench-key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
  { stdio: 'ignore' })
  return { cert, key }
}
