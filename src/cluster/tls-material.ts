/**
 * The TLS certificate chain and private key as the bytes the configuration check accepted. The primary reads them
 * once per validated configuration and hands them to every serving process it forks, so a process started later
 * (a crash replacement) serves the certificate that was validated, not whatever the files hold by then.
 * uWS takes file names only, so a serving process writes the bytes to a private temporary directory (0700, files
 * 0600), listens, and removes them: the key is on disk for the milliseconds the TLS context takes to build.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ConfigError } from '../config/load'
import { Secret } from '../config/secret'
import type { XksgateConfig } from '../config/schema'

export interface TlsMaterial {
  certPem: string
  keyPem: Secret
}

/** Reads the configured files; a pair that no longer matches (replaced between the check and now) is refused. */
export function readTlsMaterial (config: XksgateConfig): TlsMaterial {
  const { certFile, keyFile } = config.server.tls
  const certPem = fs.readFileSync(certFile, 'utf8')
  const keyPem = new Secret(fs.readFileSync(keyFile, 'utf8'))
  let matches = false
  try {
    matches = new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem.reveal()))
  } catch {}
  if (!matches) throw new ConfigError([`/server/tls: ${certFile} and ${keyFile} changed while being read; try again`])
  return { certPem, keyPem }
}

/** Writes the material for the frontend; `remove` deletes it once the listener has read it. */
export function materializeTls (config: XksgateConfig, material: TlsMaterial): { config: XksgateConfig, remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-tls-'))
  const certFile = path.join(dir, 'cert.pem')
  const keyFile = path.join(dir, 'key.pem')
  fs.writeFileSync(certFile, material.certPem, { mode: 0o600 })
  fs.writeFileSync(keyFile, material.keyPem.reveal(), { mode: 0o600 })
  return {
    config: { ...config, server: { ...config.server, tls: { ...config.server.tls, certFile, keyFile } } },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  }
}
