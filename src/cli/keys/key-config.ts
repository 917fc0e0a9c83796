/**
 * What the `xksgate keys` subcommands share: the key store and key they work on, the labels already taken, and the
 * HSM backend from the configuration, reached through a child process with a deadline (src/cli/hsm-job.ts).
 */
import { ConfigError } from '../../config/load'
import { keyVersions, type ConfiguredKey } from '../../config/key-versions'
import type { OptionValues, SubcommandContext } from '../command-group'
import { readEditableConfig, selectKeyStore, type EditableConfig, type RawJson } from '../config-file'
import type { ResolvedHsmBackend, XksgateConfig } from '../../config/schema'
import { DEFAULT_HSM_TIMEOUT_MS, parseHsmTimeout, runHsmJob, type HsmJobInput, type HsmJobName, type HsmJobOutput } from '../hsm-job'
import { configuredToken } from '../token'

export const KEY_STORE_OPTION = { 'key-store': { type: 'string' } } as const
/** Which HSM backend a command works on, and how long it may take to answer. */
export const HSM_OPTIONS = { hsm: { type: 'string' }, 'hsm-timeout-ms': { type: 'string' } } as const
export const HSM_OPTIONS_HELP = `  --hsm NAME         the HSM backend to work on (default: the first in /hsm)
  --hsm-timeout-ms MS  how long the HSM may take to answer (default ${DEFAULT_HSM_TIMEOUT_MS}); past it the command fails
                     with exit 1`
export const JSON_OPTION = { json: { type: 'boolean' } } as const

export interface KeyStoreTarget {
  edit: EditableConfig
  storeIndex: number
  storeName: string
  /** The key store's `keys` object as written in the file, to edit. */
  rawKeys: Record<string, RawJson>
  hsm: HsmAccess
}

/** The backend a command works on (for its messages), and how to run jobs on it. */
export interface HsmAccess {
  backend: ResolvedHsmBackend
  run: <N extends HsmJobName>(name: N, input: Omit<HsmJobInput<N>, 'backend'>) => Promise<HsmJobOutput<N>>
}

export function hsmAccess (context: SubcommandContext, config: Pick<XksgateConfig, 'hsm'>): HsmAccess {
  const name = context.values.hsm as string | undefined
  const backend = configuredToken(config, name)
  const timeoutMs = parseHsmTimeout(context.values['hsm-timeout-ms'])
  if (typeof timeoutMs === 'string') throw new ConfigError([timeoutMs])
  const target = { file: context.configFile, env: context.io.env, timeoutMs }
  return { backend, run: async (job, input) => await runHsmJob(job, { ...input, backend: name } as HsmJobInput<typeof job>, target) }
}

export function openKeyStore (context: SubcommandContext): KeyStoreTarget {
  const edit = readEditableConfig(context.configFile, context.io.env)
  const storeIndex = selectKeyStore(edit.config, context.values['key-store'] as string | undefined)
  const rawStore = edit.raw.keyStores[storeIndex] as RawJson
  rawStore.keys ??= {}
  return { edit, storeIndex, storeName: edit.config.keyStores[storeIndex].name, rawKeys: rawStore.keys, hsm: hsmAccess(context, edit.config) }
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
