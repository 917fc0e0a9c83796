/**
 * The validated configuration as the cluster primary hands it to a serving process over the IPC channel (a pipe
 * between the two processes: never argv, the environment or a log). A serving process therefore serves exactly
 * what the primary validated — at start, after a reload, and when it replaces a crashed process — and never
 * re-reads a file that may have changed since. Secrets travel revealed on that pipe only and become `Secret`s
 * again on arrival; the TLS certificate and key travel as the bytes that were checked (tls-material.ts).
 */
import { Secret } from '../config/secret'
import { deepFreeze } from '../config/load'
import type { XksgateConfig } from '../config/schema'
import type { TlsMaterial } from './tls-material'

/** A JSON value with every Secret replaced by `{ [SECRET]: value }`. */
export interface WireConfig {
  config: unknown
  tls: unknown
}

const SECRET = '$xksgateSecret'

export function toWire (config: XksgateConfig, tls: TlsMaterial): WireConfig {
  return { config: encode(config), tls: encode(tls) }
}

export function fromWire (wire: WireConfig): { config: XksgateConfig, tls: TlsMaterial } {
  return { config: deepFreeze(decode(wire.config) as XksgateConfig), tls: decode(wire.tls) as TlsMaterial }
}

function encode (value: unknown): unknown {
  if (value instanceof Secret) return { [SECRET]: value.reveal() }
  if (Array.isArray(value)) return value.map(encode)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, encode(v)]))
  }
  return value
}

function decode (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode)
  if (value !== null && typeof value === 'object') {
    const secret = (value as Record<string, unknown>)[SECRET]
    if (typeof secret === 'string') return new Secret(secret)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]))
  }
  return value
}
