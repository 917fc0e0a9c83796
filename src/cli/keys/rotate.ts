/**
 * `xksgate keys rotate ID`: a new version of the external key, generated in the HSM under a label of its own.
 * Encrypt uses the newest version from then on and records it in ciphertextMetadata (format 2,
 * src/xks/ciphertext-metadata.ts); Decrypt uses the version recorded, so every earlier ciphertext keeps
 * decrypting with the version that made it. The external key id KMS knows never changes.
 */
import { keyVersions, type ConfiguredKey, type ConfiguredKeyVersion } from '../../config/key-versions'
import { ConfigError } from '../../config/load'
import { MAX_KEY_VERSION } from '../../xks/ciphertext-metadata'
import { OK_EXIT } from '../command'
import { usageError, type Subcommand, type SubcommandContext } from '../command-group'
import { checkEdited, saveConfig } from '../config-file'
import type { TokenKey } from '../token'
import { generateUnlessTaken } from './create'
import { HSM_OPTIONS, HSM_OPTIONS_HELP, JSON_OPTION, KEY_STORE_OPTION, configuredKey, openKeyStore, requireUnusedLabel, type KeyStoreTarget, type Usage } from './key-config'

const HELP = `usage: xksgate keys rotate ID [--label LABEL] [--stage] [--key-store NAME] [--hsm NAME] [--config FILE] [--json]

Generates a new version of external key ID in the HSM (same usages, same template as keys create). The
configuration's /keyStores/N/keys/ID then has the new key as label and version; the version that encrypted
until now moves to decryptOnlyVersions. Encrypt uses the new version once the proxy reloads or restarts;
ciphertexts of every version listed keep decrypting. Retire a version by removing it from decryptOnlyVersions
(its ciphertexts then fail with InvalidCiphertextException).

  --label LABEL   CKA_LABEL of the new version (default: the first version's label + ".vN")
  --stage         add the new version as decrypt-only instead; for a fleet: once every host has that
                  configuration, run "xksgate keys rotate ID --activate" so no host meets a ciphertext of a
                  version it does not know yet
  --activate      make the newest staged version the one that encrypts (no new HSM key)
${HSM_OPTIONS_HELP}

Exit status: 0 rotated; 1 the HSM failed or did not answer in time (the configuration is left unchanged); 2 invalid
command line or configuration, the key cannot encrypt, or the label is taken.
`

export const rotateKey: Subcommand = {
  name: 'rotate',
  summary: 'a new key version behind the same external key id (Encrypt uses it; older ones still decrypt)',
  help: HELP,
  options: { label: { type: 'string' }, stage: { type: 'boolean' }, activate: { type: 'boolean' }, ...KEY_STORE_OPTION, ...HSM_OPTIONS, ...JSON_OPTION },
  positionals: ['ID'],
  async run (context: SubcommandContext): Promise<number> {
    const { stage, activate, label } = context.values
    if (activate === true && (stage === true || label !== undefined)) return usageError(context, '--activate takes no --stage or --label: it makes an existing staged version encrypt')
    const [keyId] = context.positionals
    const target = openKeyStore(context)
    const key = configuredKey(target, keyId)
    const pointer = `/keyStores/${target.storeIndex}/keys/${keyId}`
    const [current, ...others] = keyVersions(key)
    const next = activate === true ? stagedVersion(pointer, current, others) : await newVersion(target, key, pointer, label as string | undefined)
    const rest = others.filter(v => v.version !== next.version).map(v => ({ version: v.version, label: v.label }))
    const raw = target.rawKeys[keyId]
    if (stage === true) raw.decryptOnlyVersions = [...rest, { version: next.version, label: next.label }]
    else Object.assign(raw, { label: next.label, version: next.version, decryptOnlyVersions: [{ version: current.version, label: current.label }, ...rest] })
    checkEdited(target.edit, context.io.env)
    const generated = next.usage === undefined ? undefined : await generateUnlessTaken(target.hsm, next.label, next.usage)
    const written = saveConfig(target.edit, { pointer, value: raw }, context.io)
    if (context.values.json === true) {
      context.io.stdout(JSON.stringify({ keyId, keyStore: target.storeName, version: next.version, label: next.label, id: generated?.id, encrypts: stage !== true, configWritten: written }) + '\n')
      return OK_EXIT
    }
    context.io.stdout(`${target.storeName}/${keyId}: version ${next.version} (${JSON.stringify(next.label)}${generated === undefined ? '' : `, CKA_ID ${generated.id}`}) ` +
      (stage === true ? `is staged: it decrypts, version ${current.version} still encrypts\n` : `encrypts; version ${current.version} and the other earlier ones decrypt only\n`) +
      (written ? `${target.edit.file} updated; ` : '') + 'the running proxy uses it after a reload or restart\n')
    return OK_EXIT
  },
}

interface NextVersion {
  version: number
  label: string
  /** The usages to generate it with; undefined when it exists already (--activate). */
  usage?: readonly Usage[]
}

/** The newest staged version (newer than the one that encrypts), for --activate. */
function stagedVersion (pointer: string, current: ConfiguredKeyVersion, others: ConfiguredKeyVersion[]): NextVersion {
  const staged = others.filter(v => v.version > current.version).sort((a, b) => b.version - a.version)[0]
  if (staged === undefined) throw new ConfigError([`${pointer}: no staged version newer than version ${current.version} to activate (stage one with --stage)`])
  return staged
}

/** The version a rotation creates: one above every version the key has, with the usages of the one that encrypts now. */
async function newVersion (target: KeyStoreTarget, key: ConfiguredKey, pointer: string, label: string | undefined): Promise<NextVersion> {
  const versions = keyVersions(key)
  const usage = key.usage ?? currentUsage((await target.hsm.run('keysLabelled', { labels: [key.label] }))[key.label][0])
  if (!usage.includes('ENCRYPT')) throw new ConfigError([`${pointer}: the key cannot encrypt, so a new version would never be used`])
  const version = Math.max(...versions.map(v => v.version)) + 1
  if (version > MAX_KEY_VERSION) throw new ConfigError([`${pointer}: version ${MAX_KEY_VERSION} is the last one ciphertextMetadata can record`])
  // foo, foo.v2, foo.v3, …: named after the first version when the key still has it.
  const base = versions.find(v => v.version === 1)?.label ?? key.label.replace(/\.v\d+$/, '')
  const next = { version, label: label ?? `${base}.v${version}`, usage }
  requireUnusedLabel(target.edit, next.label)
  return next
}

/** The usages of the key that encrypts now, when the configuration does not declare them. */
function currentUsage (key: TokenKey | undefined): Usage[] {
  if (key === undefined) throw new ConfigError(['the key that encrypts now is not on the token; run xksgate keys describe'])
  return [...(key.canEncrypt ? ['ENCRYPT' as const] : []), ...(key.canDecrypt ? ['DECRYPT' as const] : [])]
}
