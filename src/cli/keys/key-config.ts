/**
 * What the `xksgate keys` subcommands share: the key store and key they work on, the labels already taken, and the
 * token login from the configuration.
 */
import { ConfigError } from '../../config/load'
import { keyVersions, type ConfiguredKey } from '../../config/key-versions'
import type { OptionValues, SubcommandContext } from '../command-group'
import { readEditableConfig, selectKeyStore, type EditableConfig, type RawJson } from '../config-file'
import { configuredToken, type TokenLogin } from '../token'

export const KEY_STORE_OPTION = { 'key-store': { type: 'string' } } as const
export const JSON_OPTION = { json: { type: 'boolean' } } as const

export interface KeyStoreTarget {
  edit: EditableConfig
  storeIndex: number
  storeName: string
  /** The key store's `keys` object as written in the file, to edit. */
  rawKeys: Record<string, RawJson>
  login: TokenLogin
}

export function openKeyStore (context: SubcommandContext): KeyStoreTarget {
  const edit = readEditableConfig(context.configFile, context.io.env)
  const storeIndex = selectKeyStore(edit.config, context.values['key-store'] as string | undefined)
  const rawStore = edit.raw.keyStores[storeIndex] as RawJson
  rawStore.keys ??= {}
  return { edit, storeIndex, storeName: edit.config.keyStores[storeIndex].name, rawKeys: rawStore.keys, login: configuredToken(edit.config) }
}

/** The configured key `keyId` of the target store, or a ConfigError naming what exists. */
export function configuredKey (target: KeyStoreTarget, keyId: string): ConfiguredKey {
  const key = target.edit.config.keyStores[target.storeIndex].keys[keyId]
  if (key === undefined) {
    const ids = Object.keys(target.edit.config.keyStores[target.storeIndex].keys)
    throw new ConfigError([`/keyStores/${target.storeIndex}/keys: no key ${JSON.stringify(keyId)} in key store ${target.storeName} (there are: ${ids.join(', ') || 'none'})`])
  }
  return key
}

/** Every HSM label the configuration uses, with the field that uses it. */
export function labelsInUse (edit: EditableConfig): Map<string, string> {
  const used = new Map<string, string>([[edit.config.health.keyLabel, '/health/keyLabel']])
  edit.config.keyStores.forEach((store, i) => {
    for (const [keyId, key] of Object.entries(store.keys)) {
      for (const v of keyVersions(key)) used.set(v.label, `/keyStores/${i}/keys/${keyId}${v.field}`)
    }
  })
  return used
}

/** Throws a ConfigError when `label` is already configured somewhere. */
export function requireUnusedLabel (edit: EditableConfig, label: string): void {
  const field = labelsInUse(edit).get(label)
  if (field !== undefined) throw new ConfigError([`${field}: the label ${JSON.stringify(label)} is already configured there; choose another with --label`])
}

export type Usage = 'ENCRYPT' | 'DECRYPT'

/** `--usage encrypt,decrypt` (the default), `encrypt`, `decrypt` or `none`; undefined after a bad value. */
export function parseUsage (values: OptionValues): Usage[] | string {
  const text = (values.usage as string | undefined) ?? 'encrypt,decrypt'
  if (text === 'none') return []
  const usages = text.split(',').map(u => u.trim().toUpperCase())
  const bad = usages.find(u => u !== 'ENCRYPT' && u !== 'DECRYPT')
  if (bad !== undefined || new Set(usages).size !== usages.length) return `--usage must be encrypt, decrypt, both (encrypt,decrypt) or none, got ${JSON.stringify(text)}`
  return (['ENCRYPT', 'DECRYPT'] as const).filter(u => usages.includes(u))
}
