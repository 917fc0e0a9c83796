/**
 * Startup checks that need the running process: the HSM login, every configured key, and the listening ports.
 * Each failure names the configuration field to fix. A key that is missing or unfit stops the start rather than
 * serving degraded: otherwise it would surface only when KMS calls CreateKey or Encrypt, as an error in the
 * customer's CloudTrail, while the operator who could fix it is the one starting the proxy now.
 */
import { keyVersions } from '../config/key-versions'
import { ConfigError } from '../config/load'
import { checkTlsFiles } from '../config/tls-files'
import type { Logger } from '../log'
import type { CertificateHealth } from '../tls/certificate-health'
import type { ResolvedHsmBackend, XksgateConfig } from '../config/schema'
import type { HsmBackend, KeyAttributes } from '../hsm/types'
import { loadNativeUwsBuild } from '../server/uws-native'
import { StartupError } from './exit'

type Usage = 'ENCRYPT' | 'DECRYPT'

// The HSM pool reports a failed start as text only; these are the causes an operator fixes in the configuration.
const HSM_START_FIELDS: Array<[RegExp, string]> = [
  [/could not be loaded/, 'modulePath'],
  [/token label .* not found/, 'tokenLabel'],
  [/C_Login: CKR_PIN_/, 'pin'],
]

/**
 * A backend's failed start as a configuration error naming its field (`backendField` is `/hsm` or `/hsm/N`), or
 * (e.g. a login timeout) a StartupError.
 */
export function hsmStartError (err: unknown, backendField = '/hsm'): Error {
  const message = (err instanceof Error ? err.message : String(err)).replace(/^HSM worker could not start: /, '')
  const field = HSM_START_FIELDS.find(([pattern]) => pattern.test(message))?.[1]
  return field === undefined ? new StartupError(`${backendField}: ${message}`) : new ConfigError([`${backendField}/${field}: ${message}`])
}

export interface KeyCheck {
  field: string
  label: string
  /** The usages the key must allow exactly; undefined: at least one of them. */
  usage?: readonly Usage[]
  /** Who needs the usages, for the message. */
  purpose: string
}

/** Every configured key version and the health-check key, each with the usages it must have (shared with `xksgate doctor`). */
export function keysToCheck (config: XksgateConfig): KeyCheck[] {
  // Every version of a key serves the key's declared usages: a rotation copies them (src/cli/keys/rotate.ts).
  const customerKeys = config.keyStores.flatMap((store, i) => Object.entries(store.keys).flatMap(([keyId, key]) => keyVersions(key).map(v => ({
    field: `/keyStores/${i}/keys/${keyId}${v.field.replace(/\/label$/, '')}`, label: v.label, usage: key.usage, purpose: `/keyStores/${i}/keys/${keyId}/usage`,
  }))))
  // The deep health check encrypts and decrypts with its key (spec §GetHealthStatus).
  return [...customerKeys, { field: '/health/keyLabel', label: config.health.keyLabel, usage: ['ENCRYPT', 'DECRYPT'], purpose: 'the deep health check' }]
}

/** Key lookups at startup are not on KMS's clock: a slow HSM gets time, a hung one still fails the start. */
const STARTUP_LOOKUP_MS = 10_000
/**
 * Looks up every configured key and the health-check key through one running backend (each backend must hold
 * them all: any of them may serve any request). Throws a ConfigError listing each missing or unfit key
 * (disabled ones included: they are still KMS keys that may be re-enabled).
 */
export async function requireUsableKeys (config: XksgateConfig, hsm: HsmBackend, tokenLabel: string): Promise<void> {
  const checks = keysToCheck(config)
  const deadline = Date.now() + STARTUP_LOOKUP_MS
  const outcomes = await Promise.all(checks.map(async check => await hsm.describeKey(check.label, deadline)))
  const problems: string[] = []
  const lookupFailures: string[] = []
  checks.forEach((check, i) => {
    const outcome = outcomes[i]
    const key = `the key labelled ${JSON.stringify(check.label)}`
    if (!outcome.ok) {
      if (outcome.failure.kind === 'KeyNotFound') problems.push(`${check.field}: no secret key labelled ${JSON.stringify(check.label)} on token ${JSON.stringify(tokenLabel)}`)
      else lookupFailures.push(`${check.field}: ${key} could not be looked up: ${outcome.failure.message}`)
      return
    }
    const misfits = keyMisfits(outcome.value, check)
    if (misfits.length > 0) problems.push(`${check.field}: ${key} ${misfits.join('; ')}`)
  })
  if (problems.length > 0) throw new ConfigError(problems)
  if (lookupFailures.length > 0) throw new StartupError(lookupFailures.join('\n'))
}

/** PKCS#11 answers that mean the HSM, or the transport in front of it, cannot do AES-GCM at all. */
const GCM_REFUSALS = new Set(['CKR_MECHANISM_INVALID', 'CKR_MECHANISM_PARAM_INVALID'])

/**
 * One AES-GCM encryption and decryption through a backend, with the health-check key, before serving. Every
 * Encrypt and Decrypt is AES-256-GCM (spec §Encrypt); an HSM, or a remote PKCS#11 transport in front of it (p11-kit
 * before 0.25 does not carry the GCM parameters), that refuses the mechanism would answer every request 500,
 * which KMS retries in vain. So that refusal stops the start and names the backend's module. Any other failure
 * (a slow or busy HSM) is left to the deep health check, as before.
 */
export async function requireAesGcm (config: XksgateConfig, hsm: HsmBackend, backend: Pick<ResolvedHsmBackend, 'field' | 'name' | 'modulePath'>): Promise<void> {
  const deadline = Date.now() + STARTUP_LOOKUP_MS
  const keyLabel = config.health.keyLabel
  const plaintext = Buffer.alloc(32)
  const sealed = await hsm.encrypt({ keyLabel, plaintext, gcmAad: Buffer.alloc(0), deadline })
  const outcome = sealed.ok ? await hsm.decrypt({ keyLabel, ...sealed.value, gcmAad: Buffer.alloc(0), deadline }) : sealed
  if (outcome.ok || !GCM_REFUSALS.has(outcome.failure.ckr ?? '')) return
  throw new ConfigError([`${backend.field}/modulePath: the HSM behind ${backend.modulePath} (backend ${JSON.stringify(backend.name)}) ` +
    `refuses AES-GCM (${outcome.failure.message}), which every Encrypt and Decrypt needs; use a module, firmware or ` +
    'remote transport that supports CKM_AES_GCM'])
}

/** Why a key cannot serve: XKS v1 keys are AES-256 (spec §GetKeyMetadata) and must never leave the HSM. */
export function keyMisfits (key: KeyAttributes, check: Pick<KeyCheck, 'usage' | 'purpose'>): string[] {
  const misfits: string[] = []
  if (key.keyType !== 'AES' || key.keyBits !== 256) misfits.push(`is ${key.keyType}-${key.keyBits}, not AES-256`)
  if (key.extractable) misfits.push('is extractable (CKA_EXTRACTABLE true): its material can leave the HSM')
  if (!key.sensitive) misfits.push('is not sensitive (CKA_SENSITIVE false): its value can be read out')
  const allowed: Usage[] = [...(key.canEncrypt ? ['ENCRYPT' as const] : []), ...(key.canDecrypt ? ['DECRYPT' as const] : [])]
  if (check.usage === undefined) {
    if (allowed.length === 0) misfits.push(`allows neither ENCRYPT nor DECRYPT (set ${check.purpose} to [] if that is meant)`)
    return misfits
  }
  for (const usage of check.usage) {
    if (!allowed.includes(usage)) misfits.push(`lacks ${usage} (CKA_${usage} false), which ${check.purpose} requires`)
  }
  for (const usage of allowed) {
    if (!check.usage.includes(usage)) misfits.push(`allows ${usage}, which ${check.purpose} does not list`)
  }
  return misfits
}

/**
 * A port that cannot be bound is an expected failure: it names the field, without a stack trace. Any other
 * failure of the listener's start passes through unchanged.
 */
export async function listenOrExplain<T> (field: string, host: string, port: number, listening: Promise<T>): Promise<T> {
  try {
    return await listening
  } catch (err) {
    const why = bindFailure(err)
    throw why === undefined ? err : new StartupError(`${field}: cannot listen on ${host}:${port}: ${why}`)
  }
}

function bindFailure (err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'EADDRINUSE') return 'the port is in use'
  if (code === 'EACCES') return 'no permission to bind it'
  // uWS says only this (src/server); with SO_REUSEPORT a port is refused when a non-sharing socket holds it.
  if (err instanceof Error && err.message.startsWith('cannot listen on ')) {
    return 'the port is in use by a program that does not share it, or binding it needs a privilege this process lacks'
  }
  return undefined
}

/**
 * Loads the uWebSockets.js native binary before anything slow (the HSM login): when it cannot load on this
 * platform, that is an expected failure with its own explanation, not a crash with a stack trace.
 */
export function requireNativeUws (): string {
  try {
    return loadNativeUwsBuild().build
  } catch (err) {
    throw new StartupError((err as Error).message)
  }
}

/**
 * The served certificate at start (docs/xks-spec.md §2): the load-time check again (the files may have changed
 * since, and a certificate may have expired since the config was checked), then a warning under 30 days to expiry.
 */
export function requireHealthyCertificate (config: XksgateConfig, log: Logger): CertificateHealth {
  const { problems, health } = checkTlsFiles(config.server.tls)
  if (problems.length > 0 || health === undefined) throw new ConfigError(problems)
  for (const warning of health.warnings) log.warn({ certFile: config.server.tls.certFile, notAfter: health.notAfter, hostnames: health.hostnames }, `TLS certificate: ${warning}`)
  return health
}
