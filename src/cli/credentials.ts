/**
 * `xksgate credentials create --key-store NAME`: a new SigV4 credential for a key store, next to the ones it has,
 * for a rotation without downtime (docs/xks-spec.md §8.1): the secret goes to a new 0600 file, never to the
 * terminal; the configuration references the file.
 */
import fs from 'node:fs'
import path from 'node:path'
import { ConfigError } from '../config/load'
import { newAccessKeyId, newSecretAccessKey } from '../config/new-credential'
import { OK_EXIT } from './command'
import { commandGroup, type Subcommand, type SubcommandContext } from './command-group'
import { readRawConfig, saveConfig, unwritable, type RawJson } from './config-file'

// The schema's limit per key store (src/config/schema.ts).
const MAX_CREDENTIALS = 8

const HELP = `usage: xksgate credentials create [--key-store NAME] [--secret-file PATH] [--config FILE] [--json]

Makes a new SigV4 credential by KMS's rules (an access key id of 20 characters of A-Z 2-7, a secret of 32 random
bytes in base64) and adds it to the key store beside the ones it has. The secret is written to a new file of
mode 0600 (default: secrets/NAME-ACCESSKEYID next to the configuration) and never printed.

  --key-store NAME    the key store (default: the only one)
  --secret-file PATH  where to write the secret; must not exist
  --json              print the result as JSON (without the secret)

Exit status: 0 created; 2 invalid command line or configuration, or the key store has 8 credentials already.
`

const createCredential: Subcommand = {
  name: 'create',
  summary: 'a new access key id and secret for a key store, beside the current one',
  help: HELP,
  options: { 'key-store': { type: 'string' }, 'secret-file': { type: 'string' }, json: { type: 'boolean' } },
  positionals: [],
  run (context: SubcommandContext): number {
    // The file as written, not validated first: a key store's first credential is made here too, and a key store
    // without one is not a valid configuration yet. The result is validated before it is written.
    const raw = readRawConfig(context.configFile)
    const stores = (Array.isArray(raw.keyStores) ? raw.keyStores : []) as RawJson[]
    const wanted = context.values['key-store'] as string | undefined
    const index = wanted === undefined && stores.length === 1 ? 0 : stores.findIndex(s => s.name === wanted)
    if (index < 0) {
      const names = stores.map(s => String(s.name)).join(', ') || 'none'
      throw new ConfigError([`/keyStores: ${wanted === undefined ? 'give --key-store' : `no key store named ${JSON.stringify(wanted)}`} (there are: ${names})`])
    }
    const rawStore = stores[index]
    // The name becomes part of the secret file's name: it must be a valid one before anything is written.
    if (typeof rawStore.name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(rawStore.name)) throw new ConfigError([`/keyStores/${index}/name: must be 1-64 of A-Z a-z 0-9 _ . -`])
    const existing = (Array.isArray(rawStore.credentials) ? rawStore.credentials : []) as Array<{ accessKeyId?: string }>
    if (existing.length >= MAX_CREDENTIALS) {
      throw new ConfigError([`/keyStores/${index}/credentials: key store ${rawStore.name} has ${MAX_CREDENTIALS} credentials, the most it can have; remove one it no longer uses first`])
    }
    const configDir = path.dirname(path.resolve(context.configFile))
    const accessKeyId = newAccessKeyId()
    const secretFile = path.resolve(configDir, (context.values['secret-file'] as string | undefined) ?? path.join('secrets', `${rawStore.name}-${accessKeyId}`))
    if (fs.existsSync(secretFile)) throw new ConfigError([`${secretFile} exists already; a secret file is never overwritten (give another --secret-file)`])
    try {
      fs.mkdirSync(path.dirname(secretFile), { recursive: true, mode: 0o700 })
      // 'wx': an existing file (another credential's secret) is never overwritten.
      fs.writeFileSync(secretFile, newSecretAccessKey() + '\n', { mode: 0o600, flag: 'wx' })
    } catch (err) {
      unwritable(secretFile, err, 'give --secret-file a path you can write')
    }
    const relative = path.relative(configDir, secretFile)
    const credential = { accessKeyId, secretAccessKey: { file: relative.startsWith('..') ? secretFile : relative } }
    rawStore.credentials = [...existing, credential]
    let written: boolean
    try {
      written = saveConfig({ file: context.configFile, raw }, { pointer: `/keyStores/${index}/credentials/${existing.length}`, value: credential }, context.io)
    } catch (err) {
      fs.rmSync(secretFile, { force: true })
      throw err
    }
    const store = { name: String(rawStore.name), credentials: existing }
    if (context.values.json === true) {
      context.io.stdout(JSON.stringify({ keyStore: store.name, accessKeyId, secretFile, configFile: context.configFile, configWritten: written }) + '\n')
      return OK_EXIT
    }
    const old = store.credentials.map(c => c.accessKeyId).join(', ')
    const updated = written ? `${context.configFile} updated: key store ${store.name} has ${existing.length + 1} credential(s)\n` : ''
    const kmsConfig = `xksgate kms-config --config ${context.configFile} --key-store ${store.name} --endpoint https://YOUR-PROXY-HOST`
    context.io.stdout(`new credential for key store ${store.name}: access key id ${accessKeyId}, secret in ${secretFile} (mode 0600)\n` + updated + 'Next steps:\n' +
      (old === ''
        ? `  1. start the proxy; 2. ${kmsConfig} writes what KMS's create-custom-key-store takes\n`
        : '  1. reload the proxy (or restart it) on every host: it then accepts the old and the new credential\n' +
          `  2. give KMS the new one: ${kmsConfig} --access-key-id ${accessKeyId} --update --custom-key-store-id cks-…\n` +
          '     writes the input of aws kms update-custom-key-store (the secret travels in a 0600 file, not on the command line)\n' +
          `  3. once the request logs show only ${accessKeyId}, remove the old credential (${old}) from /keyStores/${index}/credentials and reload again\n`))
    return OK_EXIT
  },
}

export const credentialsCommand = commandGroup('credentials', 'credentials create: a new SigV4 credential for a key store (rotation)', [createCredential])
