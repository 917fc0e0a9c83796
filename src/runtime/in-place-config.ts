/**
 * What one serving process (`cluster.processes` 1) can take from a reload without a restart, and the check that
 * refuses the rest by name. The process swaps what it compiles from the key stores (credentials, keys and their
 * versions, `disabled`, policies, quotas), the TLS certificate and key (and the CAs of strict mTLS), the size limits, the log level and the
 * identity GetHealthStatus reports. Everything else is bound to something it cannot replace while serving: the
 * ports it holds, the HSM sessions of its pool (a second pool on the same token would share the login, which one
 * logout ends for both), the Redis client and audit chain in use, and the replay table sized at start. A reload
 * that changes any of those is refused whole, so a configuration is either applied or not at all.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { ConfigError, loadConfig } from '../config/load'
import { Secret } from '../config/secret'
import type { XksgateConfig } from '../config/schema'
import { readTlsMaterial, type TlsMaterial } from '../cluster/tls-material'
import { localReplayCapacity } from '../replay/create-replay-guard'

/** The fields (and everything under them) a reload applies in place. */
export const IN_PLACE_FIELDS: readonly string[] = [
  '/keyStores',
  '/server/tls/certFile',
  '/server/tls/keyFile',
  '/server/tls/clientAuth/caFiles',
  '/limits',
  '/log/level',
  '/health/proxyVendor',
  '/health/proxyModel',
  '/health/ekmVendor',
]

/** Loads `file` as at startup and checks that one running process can apply it; throws ConfigError naming every field. */
export function loadInPlaceReplacement (file: string, running: XksgateConfig): { config: XksgateConfig, tls: TlsMaterial } {
  const next = loadConfig({ file })
  const problems = restartOnlyChanges(running, next).map(field =>
    `${asWritten(field, running)}: changed, which one serving process (cluster.processes 1) applies only at a restart; nothing was applied`)
  const needed = localReplayCapacity(next)
  const sized = localReplayCapacity(running)
  if (needed > sized) {
    problems.push(`/keyStores: ${next.keyStores.length} key stores need a replay table of ${needed} signatures, and this process sized it for ${sized} at its start; adding a key store takes a restart`)
  }
  problems.push(...mtlsSubjectChanges(running, next))
  if (problems.length > 0) throw new ConfigError(problems)
  return { config: next, tls: readTlsMaterial(next) }
}

/** Every field outside IN_PLACE_FIELDS whose value differs (secrets compared by value, never printed). */
export function restartOnlyChanges (running: unknown, next: unknown, field = ''): string[] {
  if (IN_PLACE_FIELDS.includes(field)) return []
  if (running instanceof Secret || next instanceof Secret) {
    return running instanceof Secret && next instanceof Secret && sameSecret(running, next) ? [] : [field]
  }
  if (!isRecord(running) || !isRecord(next)) return Object.is(running, next) ? [] : [field || '/']
  // A list that grew or shrank is one change (e.g. a backend added to /hsm), not one per shifted entry.
  if (Array.isArray(running) !== Array.isArray(next)) return [field]
  if (Array.isArray(running) && running.length !== Object.keys(next).length) return [field]
  const names = new Set([...Object.keys(running), ...Object.keys(next)])
  return [...names].flatMap(name => restartOnlyChanges(running[name], next[name], `${field}/${name}`))
}

/**
 * Under strict mTLS without `allowedSubjects`, the client subjects allowed follow each key store's
 * `allowedRegions`; the node frontend checks them with the matcher built at start, so changing them is refused.
 */
function mtlsSubjectChanges (running: XksgateConfig, next: XksgateConfig): string[] {
  if (next.server.tls.clientAuth === undefined || next.server.tls.clientAuth.allowedSubjects !== undefined) return []
  const regions = (c: XksgateConfig): string => JSON.stringify(c.keyStores.map(s => s.allowedRegions))
  return regions(running) === regions(next)
    ? []
    : ['/keyStores/allowedRegions: the client subjects strict mTLS allows follow them (/server/tls/clientAuth has no allowedSubjects), which one serving process applies only at a restart; nothing was applied']
}

/** A single HSM backend written as an object is named as written (/hsm/pin, not /hsm/0/pin), as load errors are. */
function asWritten (field: string, running: XksgateConfig): string {
  const backend = /^\/hsm\/(\d+)(?=\/|$)/.exec(field)
  return backend === null ? field : (running.hsm[Number(backend[1])]?.field ?? backend[0]) + field.slice(backend[0].length)
}

function sameSecret (a: Secret, b: Secret): boolean {
  const digest = (s: Secret): Buffer => createHash('sha256').update(s.reveal()).digest()
  return timingSafeEqual(digest(a), digest(b))
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}
