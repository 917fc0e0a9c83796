/**
 * The doctor's HSM checks: the module loads, the token is there and the PIN logs in; every configured key version
 * and the health-check key is on the token, unambiguous and fit (the startup check's rules, plus the keys
 * warnings); the health-check key is an HSM object of its own.
 */
import { randomBytes } from 'node:crypto'
import type { ResolvedHsmBackend, XksgateConfig } from '../../config/schema'
import { ConfigError } from '../../config/load'
import { keysToCheck } from '../../runtime/startup-checks'
import { keyFindings } from '../keys/warnings'
import { TokenSession, type TokenKey } from '../token'
import type { Check } from './check'

/**
 * Every backend's lines; with several, each line names its backend, since each must hold every key, and one more
 * line per key says whether the backends hold the same key material: a ciphertext made on one backend must decrypt
 * on any other, since the router sends each request to whichever is up.
 */
export function hsmChecks (config: XksgateConfig): Check[] {
  if (config.hsm.length === 1) return backendChecks(config, config.hsm[0]).checks
  // One fresh IV for every backend: the same key then gives the same ciphertext of the same block.
  const iv = randomBytes(12)
  const results = config.hsm.map(backend => ({ backend, ...backendChecks(config, backend, iv) }))
  return [
    ...results.flatMap(({ backend, checks }) => checks.map(c => ({ ...c, name: `${c.name} [${backend.name}]` }))),
    ...materialChecks(config, results.map(r => ({ name: r.backend.name, fingerprints: r.fingerprints }))),
  ]
}

interface BackendResult {
  checks: Check[]
  /** By label: the key's encryption fingerprint, when `iv` was given and the key could encrypt. */
  fingerprints: Map<string, string>
}

function backendChecks (config: XksgateConfig, backend: ResolvedHsmBackend, iv?: Buffer): BackendResult {
  const fingerprints = new Map<string, string>()
  let token: TokenSession
  try {
    token = TokenSession.open(backend)
  } catch (err) {
    const detail = err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message
    return { checks: [{ name: 'HSM login', status: 'fail', detail }], fingerprints }
  }
  try {
    const { info } = token
    const checks: Check[] = [{ name: 'HSM login', status: 'ok', detail: `token ${JSON.stringify(info.label)} (${info.manufacturerId} ${info.model}, serial ${info.serialNumber}), logged in` }]
    const found = new Map<string, TokenKey[]>()
    for (const check of keysToCheck(config)) {
      const keys = found.get(check.label) ?? token.keysLabelled(check.label)
      found.set(check.label, keys)
      const name = `key ${check.field}`
      if (keys.length === 0) checks.push({ name, status: 'fail', detail: `no secret key labelled ${JSON.stringify(check.label)} on the token` })
      else if (keys.length > 1) checks.push({ name, status: 'fail', detail: `${keys.length} secret keys are labelled ${JSON.stringify(check.label)}: the proxy refuses an ambiguous label` })
      else {
        const { misfits, advice } = keyFindings(keys[0], check.usage, check.purpose)
        const status = misfits.length > 0 ? 'fail' : advice.length > 0 ? 'warn' : 'ok'
        checks.push({ name, status, detail: `${JSON.stringify(check.label)} ${status === 'ok' ? 'is AES-256, sensitive, not extractable, usages as configured' : [...misfits, ...advice].join('; ')}` })
      }
    }
    checks.push(healthSeparate(config, found))
    if (iv !== undefined) {
      for (const label of found.keys()) {
        const fingerprint = token.encryptionFingerprint(label, iv, COMPARISON_AAD)
        if (fingerprint !== undefined) fingerprints.set(label, fingerprint)
      }
    }
    return { checks, fingerprints }
  } finally {
    token.close()
  }
}

/** The health check encrypts every few seconds; with a customer key's CKA_ID it could be the same key on some HSMs. */
function healthSeparate (config: XksgateConfig, found: Map<string, TokenKey[]>): Check {
  const health = found.get(config.health.keyLabel)?.[0]
  if (health === undefined) return { name: 'health key separate', status: 'fail', detail: 'the health-check key is missing' }
  const twin = [...found].find(([label, keys]) => label !== config.health.keyLabel && keys.some(k => k.id !== '' && k.id === health.id))
  return twin === undefined
    ? { name: 'health key separate', status: 'ok', detail: `${JSON.stringify(health.label)} is used by no customer key` }
    : { name: 'health key separate', status: 'warn', detail: `shares its CKA_ID ${health.id} with the customer key ${JSON.stringify(twin[0])}` }
}

const COMPARISON_AAD = Buffer.from('xksgate doctor: key material comparison')

/** One line per configured key: the same material on every backend that has it, or which ones differ. */
function materialChecks (config: XksgateConfig, backends: Array<{ name: string, fingerprints: Map<string, string> }>): Check[] {
  return keysToCheck(config).map(({ field, label }) => {
    const name = `key material ${field}`
    const seen = backends.filter(b => b.fingerprints.has(label))
    if (seen.length < 2) {
      return { name, status: 'unknown', detail: `compared on ${seen.length} of ${backends.length} backends: the others lack the key, or it may not encrypt (a decrypt-only key cannot be compared without a ciphertext)` }
    }
    const groups = new Map<string, string[]>()
    for (const b of seen) {
      const fingerprint = b.fingerprints.get(label) as string
      groups.set(fingerprint, [...(groups.get(fingerprint) ?? []), b.name])
    }
    if (groups.size === 1) return { name, status: 'ok', detail: `${JSON.stringify(label)} is the same key on ${seen.map(b => b.name).join(', ')}` }
    return {
      name,
      status: 'fail',
      detail: `${JSON.stringify(label)} is a different key on ${[...groups.values()].map(g => g.join(', ')).join(' and on ')}: ` +
        'a ciphertext made on one does not decrypt on the other; replicate the key across the HSM group (never generate it on each)',
    }
  })
}
