/**
 * `xksgate keys disable|enable ID`: the key's `disabled` flag in the configuration. A disabled key reports
 * keyStatus DISABLED and refuses Encrypt and Decrypt with InvalidStateException (docs/xks-spec.md §5.1); its HSM
 * key is untouched, so enabling it again loses nothing.
 */
import { OK_EXIT } from '../command'
import type { Subcommand, SubcommandContext } from '../command-group'
import { saveConfig } from '../config-file'
import { JSON_OPTION, KEY_STORE_OPTION, configuredKey, openKeyStore } from './key-config'

const APPLIES = 'the running proxy applies it when it reloads its configuration or restarts'

function toggle (disable: boolean): Subcommand {
  const verb = disable ? 'disable' : 'enable'
  return {
    name: verb,
    summary: disable ? 'mark a key DISABLED: Encrypt and Decrypt refuse it (InvalidStateException)' : 'undo disable',
    help: `usage: xksgate keys ${verb} ID [--key-store NAME] [--config FILE] [--json]

${disable ? 'Sets' : 'Removes'} /keyStores/N/keys/ID/disabled in the configuration: ${disable ? 'GetKeyMetadata then reports keyStatus DISABLED and Encrypt and Decrypt answer InvalidStateException' : 'the key serves again'}. The HSM key is not touched. ${APPLIES[0].toUpperCase() + APPLIES.slice(1)}.
Exit status: 0 done (or nothing to change); 2 invalid command line or configuration.
`,
    options: { ...KEY_STORE_OPTION, ...JSON_OPTION },
    positionals: ['ID'],
    run (context: SubcommandContext): number {
      const [keyId] = context.positionals
      const target = openKeyStore(context)
      const changed = (configuredKey(target, keyId).disabled === true) !== disable
      let written = false
      if (changed) {
        const raw = target.rawKeys[keyId]
        if (disable) raw.disabled = true
        else delete raw.disabled
        written = saveConfig(target.edit, { pointer: `/keyStores/${target.storeIndex}/keys/${keyId}`, value: raw }, context.io)
      }
      const status = disable ? 'DISABLED' : 'ENABLED'
      if (context.values.json === true) context.io.stdout(JSON.stringify({ keyId, keyStore: target.storeName, status, changed, configWritten: written }) + '\n')
      else if (!changed) context.io.stdout(`${target.storeName}/${keyId} is ${status} already; nothing changed\n`)
      else context.io.stdout(`${target.storeName}/${keyId} is ${status} in ${target.edit.file}${written ? '' : ' once you make the change above'}; ${APPLIES}\n`)
      return OK_EXIT
    },
  }
}

export const disableKey = toggle(true)
export const enableKey = toggle(false)
