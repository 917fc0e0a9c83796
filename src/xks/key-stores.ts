/**
 * The logical key stores, one per URI prefix (spec §"URI path prefix"), each with its own credentials and keys.
 */
import type { ResolvedKeyStore } from '../config/schema'

export interface ExternalKey {
  /** CKA_LABEL on the token. */
  label: string
  disabled: boolean
}

export interface KeyStore {
  name: string
  uriPrefix: string
  /** externalKeyId → key. Resolution is a plain lookup, so one id can never mean two keys. */
  keys: ReadonlyMap<string, ExternalKey>
  config: ResolvedKeyStore
}

export function buildKeyStores (stores: readonly ResolvedKeyStore[]): KeyStore[] {
  return stores.map(store => ({
    name: store.name,
    uriPrefix: store.uriPrefix,
    keys: new Map(Object.entries(store.keys).map(([id, key]) => [id, { label: key.label, disabled: key.disabled ?? false }])),
    config: store,
  }))
}
