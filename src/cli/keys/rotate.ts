/**
 * `xksgate keys rotate ID`: a new version of the external key, generated in the HSM under a label of its own.
 * Encrypt uses the newest version from then on and records it in ciphertextMetadata (format 2,
 * src/xks/ciphertext-metadata.ts); Decrypt uses the version recorded, so every earlier ciphertext keeps
 * decrypting with the version that made it. The external key id KMS knows never changes.
 */
import { keyVersions } from '../../config/key-versions'
import { ConfigError } from '../../config/load'
import { MAX_KEY_VERSION } from '../../xks/ciphertext-metadata'
import { OK_EXIT } from '../command'
import type { Subcommand, SubcommandContext } from '../command-group'
import { checkEdited, saveConfig } from '../config-file'
import { withToken, type TokenKey } from '../token'
import { generateUnlessTaken } from './create'
import { JSON_OPTION, KEY_STORE_OPTION, configuredKey, openKeyStore, requireUnusedLabel, type Usage } from './key-config'

const HELP = `usage: xksgate keys rotate ID [--label LABEL] [--stage] [--key-store NAME] [--config FILE] [--json]

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

Exit status: 0 rotated; 2 invalid command line or configuration, the key cannot encrypt, or the label is taken.
`

export const rotateKey: Subcommand = {
  name: 'rotate',
  summary: 'a new key version behind the same external key id (Encrypt uses it; older ones still decrypt)',
  help: HELP,
  options: { label: { type: 'string' }, stage: { type: 'boolean' }, activate: { type: 'boolean' }, ...KEY_STORE_OPTION, ...JSON_OPTION },
  positionals: ['ID'],
  run (context: SubcommandContext): number {
    const [keyId] = context.positionals
    const target = openKeyStore(context)
    const key = configuredKey(target, keyId)
    const pointer = `/keyStores/${target.storeIndex}/keys/${keyId}`
    const versions = keyVersions(key)
    const current = versions[0]
    const raw = target.rawKeys[keyId]
    let next: { version: number, label: string }
    let usage: readonly Usage[] = []
    let generated: { id: string } | undefined
    if (context.values.activate === true) {
      const staged = versions.filter(v => v.version > current.version).sort((a, b) => b.version - a.version)[0]
      if (staged === undefined) throw new ConfigError([`${pointer}: no staged version newer than version ${current.version} to activate (stage one with --stage)`])
      next = staged
    } else {
      usage = key.usage ?? withToken(target.login, token => currentUsage(token.keysLabelled(current.label)[0]))
      if (!usage.includes('ENCRYPT')) throw new ConfigError([`${pointer}: the key cannot encrypt, so a new version would never be used`])
      const version = Math.max(...versions.map(v => v.version)) + 1
      if (version > MAX_KEY_VERSION) throw new ConfigError([`${pointer}: version ${MAX_KEY_VERSION} is the last one ciphertextMetadata can record`])
      const first = versions.find(v => v.version === 1)?.label ?? current.label.replace(/\.v\d+$/, '')
      next = { version, label: (context.values.label as string | undefined) ?? `${first}.v${version}` }
      requireUnusedLabel(target.edit, next.label)
    }
    const staging = context.values.stage === true && context.values.activate !== true
    const others = versions.slice(1).filter(v => v.version !== next.version).map(v => ({ version: v.version, label: v.label }))
    if (staging) raw.decryptOnlyVersions = [...others, next]
    else {
      raw.label = next.label
      raw.version = next.version
      raw.decryptOnlyVersions = [{ version: current.version, label: current.label }, ...others]
    }
    checkEdited(target.edit, context.io.env)
    if (context.values.activate !== true) generated = generateUnlessTaken(target, next.label, usage)
    const written = saveConfig(target.edit, { pointer, value: raw }, context.io)
    const result = { keyId, keyStore: target.storeName, version: next.version, label: next.label, id: generated?.id, encrypts: !staging, configWritten: written }
    if (context.values.json === true) context.io.stdout(JSON.stringify(result) + '\n')
    else {
      context.io.stdout(`${target.storeName}/${keyId}: version ${next.version} (${JSON.stringify(next.label)}${generated === undefined ? '' : `, CKA_ID ${generated.id}`}) ` +
        (staging ? 'is staged: it decrypts, version ' + current.version + ' still encrypts\n' : `encrypts; version ${current.version} and the other earlier ones decrypt only\n`) +
        (written ? `${target.edit.file} updated; ` : '') + 'the running proxy uses it after a reload or restart\n')
    }
    return OK_EXIT
  },
}

/** The usages of the key that encrypts now, when the configuration does not declare them. */
function currentUsage (key: TokenKey | undefined): Usage[] {
  if (key === undefined) throw new ConfigError(['the key that encrypts now is not on the token; run xksgate keys describe'])
  return [...(key.canEncrypt ? ['ENCRYPT' as const] : []), ...(key.canDecrypt ? ['DECRYPT' as const] : [])]
}
