/**
 * The embedded default: everything a newcomer needs to run xksgate on one machine, created on first use in one
 * directory and reused afterwards. A SoftHSM token with the keys the official test client expects, a
 * self-signed certificate, credentials, a config file and the KMS proxy configuration file (docs/xks-spec.md §8.1).
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { newAccessKeyId, newSecretAccessKey } from '../config/new-credential'
import { provisionSoftHsm, provisionSoftHsmGroup, type SoftHsmKeySpec } from '../hsm/softhsm'
import { ensureSelfSignedCert } from './tls-cert'

/** Key ids as the official test client names them by default, so it runs without extra settings. */
export const DEV_KEYS = {
  encryptDecrypt: 'foo',
  encryptOnly: 'encrypt_only_key',
  decryptOnly: 'decrypt_only_key',
  impotent: 'impotent_key',
} as const
export const DEV_HEALTH_KEY = 'xksgate-health'

/** The customer keys; each one's usage is written into the config, so the startup check expects exactly it. */
const DEV_KEY_SPECS: SoftHsmKeySpec[] = [
  { label: DEV_KEYS.encryptDecrypt, encrypt: true, decrypt: true },
  { label: DEV_KEYS.encryptOnly, encrypt: true, decrypt: false },
  { label: DEV_KEYS.decryptOnly, encrypt: false, decrypt: true },
  { label: DEV_KEYS.impotent, encrypt: false, decrypt: false },
]
export const DEV_URI_PREFIX = '/dev/kms/xks/v1'
export const DEV_TOKEN_LABEL = 'xksgate-dev'

export interface DevEnvironment {
  configFile: string
  certFile: string
  accessKeyId: string
  secretAccessKey: string
}

export interface DevOptions {
  /** The SoftHSM library; default: the first of the usual install locations that exists. */
  softhsmModule?: string
  /** HSM backends to serve from: that many SoftHSM tokens holding the same keys (default 1). */
  backends?: number
}

export async function provisionDevEnvironment (dir: string, port: number, options: DevOptions = {}): Promise<DevEnvironment> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const pinFile = path.join(dir, 'secrets', 'hsm-pin')
  const secretFile = path.join(dir, 'secrets', 'secret-access-key')
  const pin = readOrCreateSecret(pinFile, () => crypto.randomBytes(12).toString('hex'))
  const soPin = readOrCreateSecret(path.join(dir, 'secrets', 'hsm-so-pin'), () => crypto.randomBytes(12).toString('hex'))
  // KMS rules: access key id 20-30 of [A-Z2-7]; secret 43-64 characters with >= 256 bits of entropy.
  const accessKeyId = readOrCreateSecret(path.join(dir, 'secrets', 'access-key-id'), newAccessKeyId)
  const secretAccessKey = readOrCreateSecret(secretFile, newSecretAccessKey)

  const keys = [...DEV_KEY_SPECS, { label: DEV_HEALTH_KEY, encrypt: true, decrypt: true }]
  const backends = options.backends ?? 1
  const { modulePath, confPath, tokenLabels } = backends === 1
    ? { tokenLabels: [DEV_TOKEN_LABEL], ...await provisionSoftHsm({ dir: path.join(dir, 'softhsm'), modulePath: options.softhsmModule, tokenLabel: DEV_TOKEN_LABEL, soPin, pin, keys }) }
    // Dev-only shortcut: the keys' values are drawn in memory and imported into every token (softhsm.ts).
    : await provisionSoftHsmGroup({
      dir: path.join(dir, `softhsm-${backends}`),
      modulePath: options.softhsmModule,
      tokenLabels: Array.from({ length: backends }, (_, i) => `${DEV_TOKEN_LABEL}-${i + 1}`),
      soPin,
      pin,
      keys,
    })
  const { certFile, keyFile } = ensureSelfSignedCert(path.join(dir, 'tls'))
  const configFile = path.join(dir, 'config.json')
  // SOFTHSM2_CONF in the config, so `xksgate keys …`, doctor and `config check --hsm` find the token without an export.
  const environment = { SOFTHSM2_CONF: confPath }
  const hsm = tokenLabels.map((tokenLabel, i) => ({ ...(backends > 1 && { name: `hsm-${i + 1}` }), modulePath, tokenLabel, pin: { file: pinFile }, environment }))
  writeJson(configFile, {
    server: { host: '127.0.0.1', port, tls: { certFile, keyFile } },
    hsm: backends === 1 ? hsm[0] : hsm,
    health: { keyLabel: DEV_HEALTH_KEY },
    // Rewritten on every run (an older directory gains new fields such as hsm[].environment), except that keys and
    // credentials an operator changed with `xksgate keys …` or `xksgate credentials …` stay as they are.
    keyStores: existingKeyStores(configFile) ?? [{
      name: 'dev',
      uriPrefix: DEV_URI_PREFIX,
      credentials: [{ accessKeyId, secretAccessKey: { file: secretFile } }],
      keys: Object.fromEntries(DEV_KEY_SPECS.map(key => [key.label, {
        label: key.label,
        usage: [...(key.encrypt ? ['ENCRYPT'] : []), ...(key.decrypt ? ['DECRYPT'] : [])],
      }])),
    }],
  })
  // The file KMS's console offers for download (spec §"Authentication"): what an operator pastes into KMS.
  writeJson(path.join(dir, 'kms-proxy-config.json'), {
    XksProxyUriPath: DEV_URI_PREFIX,
    XksProxyAuthenticationCredential: { AccessKeyId: accessKeyId, RawSecretAccessKey: secretAccessKey },
  }, 0o600)
  return { configFile, certFile, accessKeyId, secretAccessKey }
}

/** The keyStores of an earlier run's config.json, if there is one. */
function existingKeyStores (configFile: string): unknown[] | undefined {
  if (!fs.existsSync(configFile)) return undefined
  const stores = (JSON.parse(fs.readFileSync(configFile, 'utf8')) as { keyStores?: unknown }).keyStores
  return Array.isArray(stores) ? stores : undefined
}

function readOrCreateSecret (file: string, create: () => string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim()
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
  const value = create()
  fs.writeFileSync(file, value + '\n', { mode: 0o600 })
  return value
}

/** Written to a temporary name and renamed, so a reader never sees half a file. */
export function writeJson (file: string, value: unknown, mode = 0o644): void {
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode })
  fs.renameSync(tmp, file)
}
