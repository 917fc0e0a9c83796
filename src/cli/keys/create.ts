/**
 * `xksgate keys create ID`: an AES-256 key generated inside the HSM by the one key template
 * (src/hsm/pkcs11/generate-key.ts), added to the configuration as external key ID.
 */
import { ConfigError } from '../../config/load'
import { OK_EXIT } from '../command'
import { usageError, type Subcommand, type SubcommandContext } from '../command-group'
import { checkEdited, readEditableConfig, saveConfig } from '../config-file'
import { configuredToken, withToken } from '../token'
import { JSON_OPTION, KEY_STORE_OPTION, openKeyStore, parseUsage, requireUnusedLabel, type KeyStoreTarget } from './key-config'

// KMS's externalKeyId rule (docs/xks-spec.md §3.1).
const KEY_ID = /^[A-Za-z0-9._-]{1,128}$/

const HELP = `usage: xksgate keys create ID [--usage encrypt,decrypt] [--label LABEL] [--key-store NAME] [--config FILE] [--json]
       xksgate keys create LABEL --health [--config FILE] [--json]

Generates an AES-256 key inside the HSM of the configuration's token (C_GenerateKey: token object, private,
sensitive, never extractable, not modifiable where the HSM allows, no wrap, unwrap, sign, verify or derive) and
adds it to the key store as external key ID (the id KMS's CreateKey takes as XksKeyId).

  ID                 the external key id: 1-128 of A-Z a-z 0-9 . _ -
  --usage LIST       encrypt,decrypt (default), encrypt, decrypt, or none
  --label LABEL      CKA_LABEL on the token (default: ID)
  --key-store NAME   the key store (default: the only one)
  --health           make the health-check key instead: ID is its label; it gets ENCRYPT and DECRYPT, belongs
                     to no key store, and becomes health.keyLabel (the deep health check encrypts with it)
  --config FILE      the JSON configuration (default: $XKSGATE_CONFIG); it is rewritten in place, or the lines
                     to add are printed when it is not writable
  --json             print the result as JSON

The running proxy serves the new key after it reloads its configuration or restarts.
Exit status: 0 created; 2 invalid command line or configuration, or the label is taken.
`

export const createKey: Subcommand = {
  name: 'create',
  summary: 'generate an AES-256 key in the HSM and add it to the configuration',
  help: HELP,
  options: { usage: { type: 'string' }, label: { type: 'string' }, health: { type: 'boolean' }, ...KEY_STORE_OPTION, ...JSON_OPTION },
  positionals: ['ID'],
  run (context: SubcommandContext): number {
    const [keyId] = context.positionals
    if (!KEY_ID.test(keyId)) return usageError(context, `key id ${JSON.stringify(keyId)} must be 1-128 of A-Z a-z 0-9 . _ -`)
    const usage = parseUsage(context.values)
    if (typeof usage === 'string') return usageError(context, usage)
    if (context.values.health === true) return createHealthKey(context, keyId)
    const label = (context.values.label as string | undefined) ?? keyId
    const target = openKeyStore(context)
    if (target.rawKeys[keyId] !== undefined) throw new ConfigError([`/keyStores/${target.storeIndex}/keys/${keyId}: key store ${target.storeName} has this key already`])
    requireUnusedLabel(target.edit, label)
    const entry = { label, usage }
    target.rawKeys[keyId] = entry
    checkEdited(target.edit, context.io.env)
    const created = generateUnlessTaken(target, label, usage)
    const written = saveConfig(target.edit, { pointer: `/keyStores/${target.storeIndex}/keys/${keyId}`, value: entry }, context.io)
    const result = { keyId, keyStore: target.storeName, label, id: created.id, usage, unmodifiable: created.unmodifiable, configFile: target.edit.file, configWritten: written }
    if (context.values.json === true) context.io.stdout(JSON.stringify(result) + '\n')
    else {
      context.io.stdout(`created AES-256 key ${JSON.stringify(label)} (CKA_ID ${created.id}) on token ${JSON.stringify(target.login.tokenLabel)}, ` +
        `usage ${usage.join(', ') || 'none'}, as external key ${keyId} of key store ${target.storeName}\n` +
        (created.unmodifiable ? '' : 'warning: the HSM refused CKA_MODIFIABLE false: the key\'s attributes can still be changed on the HSM\n') +
        (written ? `${target.edit.file} updated; the proxy serves the key after a reload or restart\n` : ''))
    }
    return OK_EXIT
  },
}

/** Generates the key unless the token already has one with the label; the CKA_ID of the new key. */
export function generateUnlessTaken (target: Pick<KeyStoreTarget, 'login'>, label: string, usage: readonly string[]): { id: string, unmodifiable: boolean } {
  return withToken(target.login, token => {
    if (token.keysLabelled(label).length > 0) {
      throw new ConfigError([`the token ${JSON.stringify(target.login.tokenLabel)} already has a secret key labelled ${JSON.stringify(label)}; choose another with --label`])
    }
    const generated = token.generate({ label, encrypt: usage.includes('ENCRYPT'), decrypt: usage.includes('DECRYPT') })
    const [key] = token.keysLabelled(label)
    return { id: key.id, unmodifiable: generated.unmodifiable }
  })
}

/** `keys create LABEL --health`: the deep health check's own key (docs/xks-spec.md §5.4), never a customer key. */
function createHealthKey (context: SubcommandContext, label: string): number {
  const edit = readEditableConfig(context.configFile, context.io.env)
  if (edit.config.health.keyLabel !== label) requireUnusedLabel(edit, label)
  edit.raw.health = { ...edit.raw.health, keyLabel: label }
  checkEdited(edit, context.io.env)
  const login = configuredToken(edit.config)
  const created = generateUnlessTaken({ login }, label, ['ENCRYPT', 'DECRYPT'])
  const written = saveConfig(edit, { pointer: '/health/keyLabel', value: label }, context.io)
  if (context.values.json === true) context.io.stdout(JSON.stringify({ health: true, label, id: created.id, unmodifiable: created.unmodifiable, configFile: edit.file, configWritten: written }) + '\n')
  else context.io.stdout(`created the health-check key ${JSON.stringify(label)} (CKA_ID ${created.id}) on token ${JSON.stringify(login.tokenLabel)}\n` + (written ? `${edit.file} updated: /health/keyLabel\n` : ''))
  return OK_EXIT
}
