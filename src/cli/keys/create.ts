/**
 * `xksgate keys create ID`: an AES-256 key generated inside the HSM by the one key template
 * (src/hsm/pkcs11/generate-key.ts), added to the configuration as external key ID.
 */
import { ConfigError } from '../../config/load'
import { OK_EXIT } from '../command'
import { usageError, type Subcommand, type SubcommandContext } from '../command-group'
import { checkEdited, readEditableConfig, saveConfig } from '../config-file'
import { StartupError } from '../../runtime/exit'
import { HsmTimeoutError } from '../hsm-job'
import { HSM_OPTIONS, HSM_OPTIONS_HELP, JSON_OPTION, KEY_STORE_OPTION, hsmAccess, openKeyStore, parseUsage, requireUnusedLabel, type HsmAccess } from './key-config'

// KMS's externalKeyId rule (docs/xks-spec.md §3.1).
const KEY_ID = /^[A-Za-z0-9._-]{1,128}$/

const HELP = `usage: xksgate keys create ID [--usage encrypt,decrypt] [--label LABEL] [--key-store NAME] [--hsm NAME] [--config FILE] [--json]
       xksgate keys create LABEL --health [--hsm NAME] [--config FILE] [--json]

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
${HSM_OPTIONS_HELP}
  --json             print the result as JSON

The running proxy serves the new key after it reloads its configuration or restarts. With several HSM backends
the key is generated on one (--hsm); the HSM group replicates it to the others (xksgate doctor checks each).
Exit status: 0 created; 1 the HSM failed or did not answer in time (the configuration is left unchanged); 2 invalid
command line or configuration, or the label is taken.
`

export const createKey: Subcommand = {
  name: 'create',
  summary: 'generate an AES-256 key in the HSM and add it to the configuration',
  help: HELP,
  options: { usage: { type: 'string' }, label: { type: 'string' }, health: { type: 'boolean' }, ...KEY_STORE_OPTION, ...HSM_OPTIONS, ...JSON_OPTION },
  positionals: ['ID'],
  async run (context: SubcommandContext): Promise<number> {
    const [keyId] = context.positionals
    if (!KEY_ID.test(keyId)) return usageError(context, `key id ${JSON.stringify(keyId)} must be 1-128 of A-Z a-z 0-9 . _ -`)
    const usage = parseUsage(context.values)
    if (typeof usage === 'string') return usageError(context, usage)
    if (context.values.health === true) return await createHealthKey(context, keyId)
    const label = (context.values.label as string | undefined) ?? keyId
    const target = openKeyStore(context)
    if (target.rawKeys[keyId] !== undefined) throw new ConfigError([`/keyStores/${target.storeIndex}/keys/${keyId}: key store ${target.storeName} has this key already`])
    requireUnusedLabel(target.edit, label)
    const entry = { label, usage }
    target.rawKeys[keyId] = entry
    checkEdited(target.edit, context.io.env)
    const created = await generateUnlessTaken(target.hsm, label, usage)
    const written = saveConfig(target.edit, { pointer: `/keyStores/${target.storeIndex}/keys/${keyId}`, value: entry }, context.io)
    const result = { keyId, keyStore: target.storeName, label, id: created.id, usage, unmodifiable: created.unmodifiable, configFile: target.edit.file, configWritten: written }
    if (context.values.json === true) context.io.stdout(JSON.stringify(result) + '\n')
    else {
      context.io.stdout(`created AES-256 key ${JSON.stringify(label)} (CKA_ID ${created.id}) on token ${JSON.stringify(target.hsm.backend.tokenLabel)}, ` +
        `usage ${usage.join(', ') || 'none'}, as external key ${keyId} of key store ${target.storeName}\n` +
        (created.unmodifiable ? '' : 'warning: the HSM refused CKA_MODIFIABLE false: the key\'s attributes can still be changed on the HSM\n') +
        (written ? `${target.edit.file} updated; the proxy serves the key after a reload or restart\n` : ''))
    }
    return OK_EXIT
  },
}

/**
 * Generates the key unless the token already has one with the label; the CKA_ID of the new key. After a timeout
 * the HSM may have made the key without saying so: the configuration is not changed, and the message says how to
 * find out.
 */
export async function generateUnlessTaken (hsm: HsmAccess, label: string, usage: readonly string[]): Promise<{ id: string, unmodifiable: boolean }> {
  try {
    return await hsm.run('generateUnlessTaken', { label, usage })
  } catch (err) {
    if (!(err instanceof HsmTimeoutError)) throw err
    throw new StartupError(`${err.message}. The key ${JSON.stringify(label)} may exist on the token anyway: ` +
      'xksgate keys list shows it; the configuration was not changed')
  }
}

/** `keys create LABEL --health`: the deep health check's own key (docs/xks-spec.md §5.4), never a customer key. */
async function createHealthKey (context: SubcommandContext, label: string): Promise<number> {
  const edit = readEditableConfig(context.configFile, context.io.env)
  if (edit.config.health.keyLabel !== label) requireUnusedLabel(edit, label)
  edit.raw.health = { ...edit.raw.health, keyLabel: label }
  checkEdited(edit, context.io.env)
  const hsm = hsmAccess(context, edit.config)
  const created = await generateUnlessTaken(hsm, label, ['ENCRYPT', 'DECRYPT'])
  const written = saveConfig(edit, { pointer: '/health/keyLabel', value: label }, context.io)
  if (context.values.json === true) context.io.stdout(JSON.stringify({ health: true, label, id: created.id, unmodifiable: created.unmodifiable, configFile: edit.file, configWritten: written }) + '\n')
  else context.io.stdout(`created the health-check key ${JSON.stringify(label)} (CKA_ID ${created.id}) on token ${JSON.stringify(hsm.backend.tokenLabel)}\n` + (written ? `${edit.file} updated: /health/keyLabel\n` : ''))
  return OK_EXIT
}
