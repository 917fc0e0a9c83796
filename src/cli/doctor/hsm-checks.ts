/**
 * The doctor's HSM checks: the module loads, the token is there and the PIN logs in; every configured key version
 * and the health-check key is on the token, unambiguous and fit (the startup check's rules, plus the keys
 * warnings); the health-check key is an HSM object of its own.
 */
import type { ResolvedHsmBackend, XksgateConfig } from '../../config/schema'
import { ConfigError } from '../../config/load'
import { keysToCheck } from '../../runtime/startup-checks'
import { keyFindings } from '../keys/warnings'
import { TokenSession, type TokenKey } from '../token'
import type { Check } from './check'

/** Every backend's lines; with several, each line names its backend, since each must hold every key. */
export function hsmChecks (config: XksgateConfig): Check[] {
  if (config.hsm.length === 1) return backendChecks(config, config.hsm[0])
  return config.hsm.flatMap(backend => backendChecks(config, backend).map(c => ({ ...c, name: `${c.name} [${backend.name}]` })))
}

function backendChecks (config: XksgateConfig, backend: ResolvedHsmBackend): Check[] {
  let token: TokenSession
  try {
    token = TokenSession.open(backend)
  } catch (err) {
    const detail = err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message
    return [{ name: 'HSM login', status: 'fail', detail }]
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
    return checks
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
