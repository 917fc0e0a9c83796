/**
 * Where the selftest's target comes from: a connection file (`npm run dev` writes DIR/connection.json), or an
 * endpoint plus the proxy's own configuration file (its key store's URI prefix, first credential and keys, by
 * their configured `usage`). Paths in a connection file are relative to it.
 */
import fs from 'node:fs'
import path from 'node:path'
import { loadConfig } from '../config/load'
import type { ClientTls, KeyRoles, Target } from './target'

/** A problem with the command line or the files it names: a usage error, not a failed case. */
export class TargetError extends Error {}

const ROLES: Array<[keyof KeyRoles, string]> = [['encryptDecrypt', 'DECRYPT,ENCRYPT'], ['encryptOnly', 'ENCRYPT'], ['decryptOnly', 'DECRYPT'], ['impotent', '']]

export function targetFromConnectionFile (file: string): Target {
  let raw: Record<string, unknown>
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch (err) {
    throw new TargetError(`${file}: ${(err as Error).message}`)
  }
  const dir = path.dirname(path.resolve(file))
  const text = (field: string, required = true): string | undefined => {
    const value = raw[field]
    if (value === undefined && !required) return undefined
    if (typeof value !== 'string' || value === '') throw new TargetError(`${file}: ${field} must be a non-empty string`)
    return value
  }
  const pathOf = (field: string): string | undefined => { const f = text(field, false); return f === undefined ? undefined : path.resolve(dir, f) }
  const keys = (raw.keys ?? {}) as Record<string, unknown>
  const roles: KeyRoles = {}
  for (const [role] of ROLES) if (typeof keys[role] === 'string') roles[role] = keys[role]
  const cert = pathOf('clientCertFile')
  const key = pathOf('clientKeyFile')
  if ((cert === undefined) !== (key === undefined)) throw new TargetError(`${file}: clientCertFile and clientKeyFile go together`)
  return {
    endpoint: checkEndpoint(String(text('endpoint'))),
    uriPrefix: String(text('uriPrefix')),
    region: text('region', false) ?? 'us-east-1',
    accessKeyId: String(text('accessKeyId')),
    secretAccessKey: String(text('secretAccessKey')),
    keys: roles,
    caFile: pathOf('caFile'),
    ...(cert !== undefined && key !== undefined && { clientTls: { certFile: cert, keyFile: key, caFile: pathOf('clientCaFile'), caKeyFile: pathOf('clientCaKeyFile') } }),
  }
}

export interface ConfigTargetOptions {
  endpoint: string
  configFile: string
  keyStore?: string
  region?: string
  caFile?: string
  clientTls?: ClientTls
  env?: NodeJS.ProcessEnv
}

/** Keys whose `usage` is not configured get no role; the cases needing one are skipped and say so. */
export function targetFromConfig (options: ConfigTargetOptions): Target {
  const config = loadConfig({ file: options.configFile, env: options.env })
  const store = options.keyStore === undefined ? config.keyStores[0] : config.keyStores.find(s => s.name === options.keyStore)
  if (store === undefined) throw new TargetError(`${options.configFile}: no key store named ${String(options.keyStore)}`)
  const keys: KeyRoles = {}
  for (const [id, key] of Object.entries(store.keys)) {
    if (key.disabled === true || key.usage === undefined) continue
    const usage = [...key.usage].sort().join()
    const role = ROLES.find(([, u]) => u === usage)?.[0]
    if (role !== undefined) keys[role] ??= id
  }
  return {
    endpoint: checkEndpoint(options.endpoint),
    uriPrefix: store.uriPrefix,
    region: options.region ?? 'us-east-1',
    accessKeyId: store.credentials[0].accessKeyId,
    secretAccessKey: store.credentials[0].secretAccessKey.reveal(),
    keys,
    caFile: options.caFile,
    clientTls: options.clientTls,
  }
}

function checkEndpoint (endpoint: string): string {
  let url: URL
  try { url = new URL(endpoint) } catch { throw new TargetError(`endpoint ${endpoint} is not a URL`) }
  if (url.protocol !== 'https:' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '') {
    throw new TargetError(`endpoint ${endpoint} must be https://host[:port] with no path`)
  }
  return url.origin
}
