/**
 * `xksgate kms-config`: what KMS needs to create (or update) the external key store, from the configuration: the
 * proxy configuration file the KMS console accepts (docs/xks-spec.md §8.1), and the input of
 * `aws kms create-custom-key-store` / `update-custom-key-store`. Both carry the secret, so both are written to
 * 0600 files and the printed command references them (`--cli-input-json file://…`): the secret is read from
 * its file and never appears on a command line or the terminal.
 */
import { configFileFrom } from '../config/cli-args'
import fs from 'node:fs'
import path from 'node:path'
import { ConfigError } from '../config/load'
import { OK_EXIT, USAGE_EXIT, type CliCommand, type CliIo } from './command'
import { readEditableConfig, reportConfigError, selectKeyStore, unwritable } from './config-file'
import { parseCliArgs } from './parse'

const HELP = `usage: xksgate kms-config --endpoint URL [--vpc-endpoint-service NAME] [--key-store NAME] [--config FILE]
                          [--access-key-id ID] [--name NAME] [--update --custom-key-store-id ID] [--out-dir DIR] [--json]

Writes what KMS needs for the key store, and prints the values and the aws command that uses them:
  DIR/kms-proxy-config-NAME.json   the proxy configuration file the KMS console accepts (XksProxyUriPath and
                                   the credential)
  DIR/kms-custom-key-store-NAME.json   the input of aws kms create-custom-key-store (or, with --update,
                                   update-custom-key-store)
Both hold the secret and are written with mode 0600; the secret is never printed.

  --endpoint URL               XksProxyUriEndpoint: https:// and the proxy's DNS name, no port, no path
  --vpc-endpoint-service NAME  VPC endpoint service connectivity (default: public endpoint)
  --key-store NAME             the key store (default: the only one)
  --access-key-id ID           the credential to hand to KMS (default: the key store's newest)
  --name NAME                  CustomKeyStoreName (default: the key store's name)
  --update                     for update-custom-key-store (a credential rotation); needs --custom-key-store-id
  --out-dir DIR                where to write the two files (default: the configuration's directory)
  --json                       print the values, the files and the command as JSON

Exit status: 0 written; 2 invalid command line or configuration.
`

// KMS's XksProxyUriEndpoint rule (docs/xks-spec.md §3.1): https, a DNS name (an FQDN, never an address), no port, no path.
const ENDPOINT = /^https:\/\/[a-zA-Z0-9.-]+$/
// An interface VPC endpoint service name, e.g. com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0.
const VPC_SERVICE = /^com\.amazonaws\.vpce\.[a-z0-9-]+\.vpce-svc-[0-9a-z]+$/

const OPTIONS = {
  config: { type: 'string' },
  endpoint: { type: 'string' },
  'vpc-endpoint-service': { type: 'string' },
  'key-store': { type: 'string' },
  'access-key-id': { type: 'string' },
  name: { type: 'string' },
  update: { type: 'boolean' },
  'custom-key-store-id': { type: 'string' },
  'out-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const

const PROGRAM = 'xksgate kms-config'

export const kmsConfigCommand: CliCommand = {
  name: 'kms-config',
  summary: 'the KMS console file and the aws kms create-custom-key-store input for a key store',
  async run (args: string[], io: CliIo): Promise<number> {
    const parsed = parseCliArgs(PROGRAM, args, OPTIONS, io)
    if (typeof parsed === 'number') return parsed
    if (parsed.help === true) { io.stdout(HELP); return OK_EXIT }
    const usage = usageProblem(parsed)
    const configFile = configFileFrom(parsed.config, io.env)
    if (usage !== undefined || configFile === undefined) {
      io.stderr(`${PROGRAM}: ${usage ?? 'no configuration: give --config FILE or set XKSGATE_CONFIG'} (see ${PROGRAM} --help)\n`)
      return USAGE_EXIT
    }
    try {
      return write(configFile, { ...parsed, endpoint: parsed.endpoint as string }, io)
    } catch (err) {
      return reportConfigError(PROGRAM, err, io)
    }
  },
}

type Parsed = Exclude<ReturnType<typeof parseCliArgs<typeof OPTIONS>>, number>

function usageProblem (parsed: Parsed): string | undefined {
  if (parsed.positionals.length > 0) return `unexpected argument '${parsed.positionals[0]}'`
  const endpoint = parsed.endpoint
  if (endpoint === undefined) return 'give --endpoint https://YOUR-PROXY-HOST'
  if (!ENDPOINT.test(endpoint) || endpoint.length < 10 || endpoint.length > 128) {
    return `--endpoint must be https:// and a DNS name, without port or path (KMS connects on 443), 10-128 characters; got ${JSON.stringify(endpoint)}`
  }
  const host = endpoint.slice('https://'.length)
  if (!host.includes('.') || /^[\d.]+$/.test(host)) return `--endpoint must name the proxy by a fully qualified domain name, not ${JSON.stringify(host)}`
  const vpc = parsed['vpc-endpoint-service']
  if (vpc !== undefined && !VPC_SERVICE.test(vpc)) return `--vpc-endpoint-service must look like com.amazonaws.vpce.REGION.vpce-svc-ID, got ${JSON.stringify(vpc)}`
  if (parsed.update === true && parsed['custom-key-store-id'] === undefined) return '--update needs --custom-key-store-id (cks-…)'
  return undefined
}

function write (configFile: string, parsed: Parsed & { endpoint: string }, io: CliIo): number {
  const { config } = readEditableConfig(configFile, io.env)
  const index = selectKeyStore(config, parsed['key-store'])
  const store = config.keyStores[index]
  const wanted = parsed['access-key-id']
  const credential = wanted === undefined ? store.credentials[store.credentials.length - 1] : store.credentials.find(c => c.accessKeyId === wanted)
  if (credential === undefined) {
    throw new ConfigError([`/keyStores/${index}/credentials: key store ${store.name} has no credential ${wanted} (it has ${store.credentials.map(c => c.accessKeyId).join(', ')})`])
  }
  const vpc = parsed['vpc-endpoint-service']
  const authentication = { AccessKeyId: credential.accessKeyId, RawSecretAccessKey: credential.secretAccessKey.reveal() }
  const connection = {
    XksProxyUriEndpoint: parsed.endpoint,
    XksProxyUriPath: store.uriPrefix,
    XksProxyConnectivity: vpc === undefined ? 'PUBLIC_ENDPOINT' : 'VPC_ENDPOINT_SERVICE',
    ...(vpc !== undefined && { XksProxyVpcEndpointServiceName: vpc }),
  }
  const name = parsed.name ?? store.name
  const input = parsed.update === true
    ? { CustomKeyStoreId: parsed['custom-key-store-id'], ...connection, XksProxyAuthenticationCredential: authentication }
    : { CustomKeyStoreName: name, CustomKeyStoreType: 'EXTERNAL_KEY_STORE', ...connection, XksProxyAuthenticationCredential: authentication }
  const dir = path.resolve(parsed['out-dir'] ?? path.dirname(path.resolve(configFile)))
  const files = {
    console: path.join(dir, `kms-proxy-config-${store.name}.json`),
    cliInput: path.join(dir, `kms-custom-key-store-${store.name}.json`),
  }
  writeSecretJson(files.console, { XksProxyUriPath: store.uriPrefix, XksProxyAuthenticationCredential: authentication })
  writeSecretJson(files.cliInput, input)
  const command = `aws kms ${parsed.update === true ? 'update' : 'create'}-custom-key-store --cli-input-json file://${files.cliInput}`
  const shown = { ...connection, ...(parsed.update !== true && { CustomKeyStoreName: name }), AccessKeyId: credential.accessKeyId }
  if (parsed.json === true) {
    io.stdout(JSON.stringify({ keyStore: store.name, values: shown, files, command }) + '\n')
    return OK_EXIT
  }
  io.stdout(`KMS external key store for ${store.name} (the console's fields):\n` +
    Object.entries(shown).map(([k, v]) => `  ${k.padEnd(31)} ${v}\n`).join('') +
    `  ${'RawSecretAccessKey'.padEnd(31)} (in ${files.console}, never printed)\n` +
    `Console: "Upload proxy configuration file" takes ${files.console}.\n` +
    `CLI:     ${command}\n` +
    'Both files hold the secret (mode 0600): delete them once KMS has it.\n' +
    (vpc === undefined ? '' : 'VPC connectivity: the endpoint is the private DNS name of the endpoint service, which KMS must be allowed to use (its principal cks.kms.REGION.amazonaws.com).\n'))
  return OK_EXIT
}

/** Written to a temporary name with mode 0600 and renamed, so the secret is never readable by others even briefly. */
function writeSecretJson (file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`
  try {
    fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
    fs.renameSync(tmp, file)
  } catch (err) {
    if (fs.existsSync(tmp)) fs.rmSync(tmp)
    unwritable(file, err, 'give --out-dir a directory you can write')
  }
}
