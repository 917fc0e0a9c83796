/**
 * `xksgate keys list` and `xksgate keys describe ID`: the token's secret keys as the HSM reports them, the
 * configuration ids that map to each, and warnings for anything KMS or good practice rejects.
 */
import { keyVersions } from '../../config/key-versions'
import { OK_EXIT } from '../command'
import type { Subcommand, SubcommandContext } from '../command-group'
import { readEditableConfig } from '../config-file'
import type { TokenKey } from '../token'
import { HSM_OPTIONS, HSM_OPTIONS_HELP, JSON_OPTION, KEY_STORE_OPTION, configuredKey, hsmAccess, openKeyStore, type Usage } from './key-config'
import { keyWarnings } from './warnings'
import type { XksgateConfig } from '../../config/schema'

/** One place the configuration uses a label. */
interface LabelUse {
  /** 'keyStore/keyId vN (encrypts)', or 'health check key'. */
  use: string
  usage?: readonly Usage[]
  purpose: string
}

function labelUses (config: XksgateConfig): Map<string, LabelUse[]> {
  const uses = new Map<string, LabelUse[]>()
  const add = (label: string, use: LabelUse): void => { uses.set(label, [...(uses.get(label) ?? []), use]) }
  add(config.health.keyLabel, { use: 'the health check key', usage: ['ENCRYPT', 'DECRYPT'], purpose: 'the deep health check' })
  config.keyStores.forEach((store, i) => {
    for (const [keyId, key] of Object.entries(store.keys)) {
      for (const v of keyVersions(key)) {
        add(v.label, { use: `${store.name}/${keyId} version ${v.version} (${v.encrypts ? 'encrypts' : 'decrypt only'})`, usage: key.usage, purpose: `/keyStores/${i}/keys/${keyId}/usage` })
      }
    }
  })
  return uses
}

interface ListedKey extends TokenKey { mappedTo: string[], warnings: string[] }

function annotate (key: TokenKey, uses: LabelUse[], duplicates: number): ListedKey {
  const warnings = uses.length === 0 ? keyWarnings(key, undefined, 'keys.ID.usage') : uses.flatMap(u => keyWarnings(key, u.usage, u.purpose))
  if (duplicates > 1) warnings.push(`shares its label with ${duplicates - 1} other secret key(s): the proxy refuses an ambiguous label`)
  return { ...key, mappedTo: uses.map(u => u.use), warnings: [...new Set(warnings)] }
}

function line (key: ListedKey): string {
  const usages = [...(key.canEncrypt ? ['ENCRYPT'] : []), ...(key.canDecrypt ? ['DECRYPT'] : []), ...key.otherUsages]
  return `${JSON.stringify(key.label)}  id ${key.id || '-'}  ${key.keyType}-${key.keyBits}  usage ${usages.join(',') || 'none'}  ` +
    `${key.sensitive ? 'sensitive' : 'NOT sensitive'}, ${key.extractable ? 'EXTRACTABLE' : 'not extractable'}  ` +
    `→ ${key.mappedTo.join('; ') || 'not in the configuration'}\n` + key.warnings.map(w => `    warning: ${w}\n`).join('')
}

const LIST_HELP = `usage: xksgate keys list [--hsm NAME] [--config FILE] [--json]

Lists every secret key on the configuration's token: label, CKA_ID, type and size, usages, sensitive and
extractable flags, the configuration ids that map to it (every key store, every version, the health key), and a
warning for anything KMS or good practice rejects. Configured labels missing from the token are listed too.

${HSM_OPTIONS_HELP}
  --json             print the result as JSON

Exit status: 0 listed, even with warnings; 1 a configured key is missing, or the HSM failed or did not answer in
time; 2 invalid command line or configuration.
`

export const listKeys: Subcommand = {
  name: 'list',
  summary: 'the token\'s secret keys, what maps to them, and warnings',
  help: LIST_HELP,
  options: { ...HSM_OPTIONS, ...JSON_OPTION },
  positionals: [],
  async run (context: SubcommandContext): Promise<number> {
    const { config } = readEditableConfig(context.configFile, context.io.env)
    const uses = labelUses(config)
    const hsm = hsmAccess(context, config)
    const login = hsm.backend
    const onToken = await hsm.run('secretKeys', {})
    const count = (label: string): number => onToken.filter(k => k.label === label).length
    const keys = onToken.map(k => annotate(k, uses.get(k.label) ?? [], count(k.label)))
    const missing = [...uses].filter(([label]) => count(label) === 0).flatMap(([label, u]) => u.map(x => ({ label, use: x.use })))
    if (context.values.json === true) context.io.stdout(JSON.stringify({ token: login.tokenLabel, keys, missing }) + '\n')
    else {
      context.io.stdout(`token ${JSON.stringify(login.tokenLabel)}: ${keys.length} secret key(s)\n` + keys.map(line).join('') +
        missing.map(m => `missing: no secret key labelled ${JSON.stringify(m.label)} on the token, configured as ${m.use}\n`).join(''))
    }
    return missing.length > 0 ? 1 : OK_EXIT
  },
}

const DESCRIBE_HELP = `usage: xksgate keys describe ID [--key-store NAME] [--hsm NAME] [--config FILE] [--json]

Shows external key ID of the key store: its status, and for every version (the one that encrypts, and the
decrypt-only ones) the HSM key it maps to with its attributes and warnings.

${HSM_OPTIONS_HELP}
  --json             print the result as JSON

Exit status: 0 described; 1 a version's key is missing from the token, or the HSM failed or did not answer in
time; 2 invalid command line or configuration.
`

export const describeKey: Subcommand = {
  name: 'describe',
  summary: 'one external key: every version, its HSM key and warnings',
  help: DESCRIBE_HELP,
  options: { ...KEY_STORE_OPTION, ...HSM_OPTIONS, ...JSON_OPTION },
  positionals: ['ID'],
  async run (context: SubcommandContext): Promise<number> {
    const [keyId] = context.positionals
    const target = openKeyStore(context)
    const key = configuredKey(target, keyId)
    const purpose = `/keyStores/${target.storeIndex}/keys/${keyId}/usage`
    const onToken = await target.hsm.run('keysLabelled', { labels: keyVersions(key).map(v => v.label) })
    const versions = keyVersions(key).map(v => {
      const found = onToken[v.label]
      return {
        version: v.version,
        label: v.label,
        encrypts: v.encrypts,
        key: found.length === 0 ? null : annotate(found[0], [{ use: `${target.storeName}/${keyId} version ${v.version}`, usage: key.usage, purpose }], found.length),
      }
    })
    const status = key.disabled === true ? 'DISABLED' : 'ENABLED'
    if (context.values.json === true) context.io.stdout(JSON.stringify({ keyId, keyStore: target.storeName, status, usage: key.usage ?? null, versions }) + '\n')
    else {
      context.io.stdout(`${target.storeName}/${keyId}: ${status}, declared usage ${key.usage === undefined ? '(any)' : key.usage.join(',') || 'none'}\n` +
        versions.map(v => `version ${v.version} (${v.encrypts ? 'encrypts' : 'decrypt only'}): ` +
          (v.key === null ? `MISSING: no secret key labelled ${JSON.stringify(v.label)} on the token\n` : line(v.key))).join(''))
    }
    return versions.some(v => v.key === null) ? 1 : OK_EXIT
  },
}
