/**
 * Loads the configuration once at startup: file → environment overrides → defaults → schema check → secrets →
 * cross-field checks → deep freeze. Every error names the offending field, so an operator can fix it at once.
 */
import fs from 'node:fs'
import path from 'node:path'
import { Value } from '@sinclair/typebox/value'
import { ConfigSchema, type RawConfig, type ResolvedAudit, type ResolvedRedis, type SecretRefValue, type XksgateConfig } from './schema'
import { applyEnvOverrides } from './env-overrides'
import { keyVersionProblems, keyVersions } from './key-versions'
import { readRegularFile } from './read-regular-file'
import { SECRET_RULES, resolveSecret, type SecretRule } from './resolve-secret'
import type { Secret } from './secret'
import { clientCaProblems, tlsFileProblems } from './tls-files'
import { validateUriPrefix } from '../xks/routes'
import { resolvePolicy } from '../policy/load-policy'
import { moduleEnvironmentProblems } from '../hsm/module-environment'

/** Exit status of a configuration or command-line error: running it again unchanged cannot help. */
export const CONFIG_ERROR_EXIT = 2

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super('invalid configuration:\n  ' + problems.join('\n  '))
    this.name = 'ConfigError'
  }
}

// KMS's externalKeyId rule (docs/xks-spec.md §3.1).
const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/

export interface LoadOptions {
  /** Path of the JSON configuration file. */
  file: string
  /** Defaults to process.env; overrides are XKSGATE__section__field=value. */
  env?: NodeJS.ProcessEnv
}

export function loadConfig ({ file, env = process.env }: LoadOptions): XksgateConfig {
  let parsed: unknown
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ConfigError([`${file}: ${(err as Error).message}`])
  }
  return validateConfig(parsed, { baseDir: path.dirname(path.resolve(file)), env })
}

export function validateConfig (input: unknown, { baseDir, env = process.env }: { baseDir: string, env?: NodeJS.ProcessEnv }): XksgateConfig {
  const { config: listed, single } = listHsmBackends(applyEnvOverrides(input, env))
  // A single backend may be written as an object; its fields keep their names in messages (/hsm/pin).
  const hsmField = (i: number): string => single ? '/hsm' : `/hsm/${i}`
  const withDefaults = Value.Default(ConfigSchema, listed)
  const schemaProblems = [...Value.Errors(ConfigSchema, withDefaults)]
    .map(e => `${(single ? e.path.replace(/^\/hsm\/0(?=\/|$)/, '/hsm') : e.path) || '/'}: ${e.message}`)
  if (schemaProblems.length > 0) throw new ConfigError(dedupe(schemaProblems))

  const raw = withDefaults as RawConfig
  const problems: string[] = []
  const secret: ResolveSecret = (ref, field, rule) => resolveSecret(ref, field, rule, { baseDir, env }, problems)

  const config: XksgateConfig = {
    ...raw,
    server: { ...raw.server, tls: resolveTls(raw.server.tls, baseDir) },
    hsm: raw.hsm.map(({ name, ...backend }, i) => ({
      ...backend, name: name ?? backend.tokenLabel, pin: secret(backend.pin, `${hsmField(i)}/pin`, SECRET_RULES.pin), field: hsmField(i),
    })),
    redis: raw.redis === undefined ? undefined : resolveRedis(raw.redis, baseDir, secret, problems),
    audit: raw.audit === undefined ? undefined : resolveAudit(raw.audit, baseDir, secret),
    keyStores: raw.keyStores.map((store, i) => ({
      ...store,
      credentials: store.credentials.map((c, j) => {
        const secretAccessKey = secret(c.secretAccessKey, `/keyStores/${i}/credentials/${j}/secretAccessKey`, SECRET_RULES.sigv4SecretAccessKey)
        return { accessKeyId: c.accessKeyId, secretAccessKey, createdAtMs: credentialCreatedAt(c, baseDir, `/keyStores/${i}/credentials/${j}/createdAt`, problems) }
      }),
      policy: resolvePolicy(store.policy, `/keyStores/${i}/policy`, baseDir, { keyIds: Object.keys(store.keys), allowedRegions: store.allowedRegions }, problems),
    })),
  }
  problems.push(...crossFieldProblems(config))
  if (problems.length > 0) throw new ConfigError(problems)
  return deepFreeze(config)
}

function resolveTls (tls: RawConfig['server']['tls'], baseDir: string): RawConfig['server']['tls'] {
  const { clientAuth } = tls
  return {
    certFile: path.resolve(baseDir, tls.certFile),
    keyFile: path.resolve(baseDir, tls.keyFile),
    ...(clientAuth !== undefined && { clientAuth: { ...clientAuth, caFiles: clientAuth.caFiles.map(file => path.resolve(baseDir, file)) } }),
  }
}

type ResolveSecret = (ref: SecretRefValue, field: string, rule: SecretRule) => Secret

function resolveRedis (redis: NonNullable<RawConfig['redis']>, baseDir: string, secret: ResolveSecret, problems: string[]): ResolvedRedis {
  const required = { standalone: ['url'], sentinel: ['sentinels', 'name'], cluster: ['nodes'] }[redis.mode] as Array<keyof typeof redis>
  for (const field of required) {
    if (redis[field] === undefined) problems.push(`/redis/${field}: required when /redis/mode is ${redis.mode}`)
  }
  const { password, tls, ...rest } = redis
  let resolvedTls: ResolvedRedis['tls'] = typeof tls === 'object' ? { servername: tls.servername, rejectUnauthorized: tls.rejectUnauthorized } : tls
  if (typeof tls === 'object' && tls.caFile !== undefined) {
    const file = path.resolve(baseDir, tls.caFile)
    const ca = readRegularFile(file)
    if (typeof ca === 'string') resolvedTls = { ...(resolvedTls as object), ca }
    else problems.push(`/redis/tls/caFile: cannot read ${file}: ${ca.problem}`)
  }
  return { ...rest, tls: resolvedTls, password: password === undefined ? undefined : secret(password, '/redis/password', SECRET_RULES.redisPassword) }
}

function resolveAudit (audit: NonNullable<RawConfig['audit']>, baseDir: string, secret: ResolveSecret): ResolvedAudit {
  return { ...audit, file: path.resolve(baseDir, audit.file), key: secret(audit.key, '/audit/key', SECRET_RULES.auditKey) }
}

/** When the credential was issued: its createdAt, else when its secret file was last written. */
function credentialCreatedAt (credential: RawConfig['keyStores'][number]['credentials'][number], baseDir: string, field: string, problems: string[]): number | undefined {
  if (credential.createdAt !== undefined) {
    const ms = Date.parse(credential.createdAt)
    if (Number.isNaN(ms)) problems.push(`${field}: ${credential.createdAt} is not a date`)
    return ms
  }
  const ref = credential.secretAccessKey
  if (typeof ref === 'string' || !('file' in ref)) return undefined
  try {
    return fs.statSync(path.resolve(baseDir, ref.file)).mtimeMs
  } catch {
    // An unreadable file is reported by resolveSecret.
    return undefined
  }
}

function crossFieldProblems (config: XksgateConfig): string[] {
  const problems: string[] = [...keyLabelProblems(config), ...hsmBackendProblems(config)]
  const prefixes = new Set<string>()
  const accessKeyIds = new Set<string>()
  const names = new Set<string>()
  config.keyStores.forEach((store, i) => {
    const prefixProblem = validateUriPrefix(store.uriPrefix)
    if (prefixProblem !== undefined) problems.push(`/keyStores/${i}/uriPrefix: ${prefixProblem}`)
    if (prefixes.has(store.uriPrefix)) problems.push(`/keyStores/${i}/uriPrefix: ${store.uriPrefix} is used by another key store`)
    if (names.has(store.name)) problems.push(`/keyStores/${i}/name: ${store.name} is used by another key store`)
    for (const [keyId, key] of Object.entries(store.keys)) {
      if (!KEY_ID_PATTERN.test(keyId)) problems.push(`/keyStores/${i}/keys: key id ${JSON.stringify(keyId)} must be 1-128 of A-Z a-z 0-9 . _ -`)
      problems.push(...keyVersionProblems(key, `/keyStores/${i}/keys/${keyId}`))
    }
    prefixes.add(store.uriPrefix)
    names.add(store.name)
    store.credentials.forEach((c, j) => {
      // An access key id must identify exactly one secret (spec §"Authentication").
      if (accessKeyIds.has(c.accessKeyId)) problems.push(`/keyStores/${i}/credentials/${j}/accessKeyId: used more than once`)
      accessKeyIds.add(c.accessKeyId)
    })
  })
  if (config.cluster.restartMinMs > config.cluster.restartMaxMs) problems.push('/cluster/restartMinMs: must not exceed /cluster/restartMaxMs')
  config.hsm.forEach(b => {
    const atStart = b.threads * b.sessionsPerThread
    if (b.maxSessions < atStart) problems.push(`${b.field}/maxSessions: must be at least threads × sessionsPerThread (${atStart}), the sessions opened at start`)
  })
  problems.push(...tlsFileProblems(config.server.tls))
  if (config.server.tls.clientAuth !== undefined) {
    if (config.server.frontend !== 'node') problems.push('/server/tls/clientAuth: needs /server/frontend "node" (uWS accepts clients without a certificate or with any subject)')
    problems.push(...clientCaProblems(config.server.tls.clientAuth.caFiles))
  }
  return problems
}

/**
 * HSM labels: the health-check key is nobody's customer key (the deep check encrypts with it every few seconds,
 * spec §GetHealthStatus), and key stores never share a key. A key store is one customer's isolated store (spec
 * §"URI path prefix"); sharing would let one store's `disabled` or rotation leave the other's copy of the key live.
 * Two ids for one label inside one store stay allowed: they are one customer's choice.
 */
function keyLabelProblems (config: XksgateConfig): string[] {
  const problems: string[] = []
  const owner = new Map<string, { store: number, field: string }>()
  config.keyStores.forEach((store, i) => {
    for (const [keyId, key] of Object.entries(store.keys)) {
      for (const version of keyVersions(key)) {
        const field = `/keyStores/${i}/keys/${keyId}${version.field}`
        const label = JSON.stringify(version.label)
        if (version.label === config.health.keyLabel) {
          problems.push(`/health/keyLabel: ${label} is also the customer key ${field}; the health check needs a key of its own`)
        }
        const first = owner.get(version.label)
        if (first === undefined) owner.set(version.label, { store: i, field })
        else if (first.store !== i) problems.push(`${field}: ${label} is also the key ${first.field} of another key store; key stores must not share HSM keys`)
      }
    }
  })
  return problems
}

/**
 * Backends are told apart by name (logs, metrics, GetHealthStatus), one token is one backend, and backends share
 * the process's one environment (src/hsm/module-environment.ts).
 */
function hsmBackendProblems (config: XksgateConfig): string[] {
  const problems: string[] = []
  const names = new Set<string>()
  const tokens = new Set<string>()
  for (const backend of config.hsm) {
    if (names.has(backend.name)) problems.push(`${backend.field}/name: ${JSON.stringify(backend.name)} names another backend too (set a name of its own)`)
    const token = `${backend.modulePath}\0${backend.tokenLabel}`
    if (tokens.has(token)) problems.push(`${backend.field}/tokenLabel: ${JSON.stringify(backend.tokenLabel)} on ${backend.modulePath} is another backend's token`)
    names.add(backend.name)
    tokens.add(token)
  }
  problems.push(...moduleEnvironmentProblems(config.hsm))
  return problems
}

/** `hsm` written as one object becomes a list of one, the shape the schema checks. */
export function listHsmBackends (input: unknown): { config: unknown, single: boolean } {
  const single = isObject(input) && isObject(input.hsm) && !Array.isArray(input.hsm)
  return { config: single ? { ...input, hsm: [input.hsm] } : input, single }
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

function dedupe (items: string[]): string[] {
  return [...new Set(items)]
}

export function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
