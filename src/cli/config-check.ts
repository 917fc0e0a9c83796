/**
 * `xksgate config check --config FILE`: validation only, by the same code the proxy runs at startup
 * (schema, secrets, cross-field rules, the TLS certificate and key). The HSM login and the keys are checked by
 * `xksgate doctor` and by the proxy's own start.
 */
import { ConfigError, loadConfig } from '../config/load'
import { OK_EXIT, USAGE_EXIT, type CliCommand, type CliIo } from './command'
import { splitSubcommand } from './command-group'
import { parseCliArgs } from './parse'

const HELP = `usage: xksgate config check [--config FILE]

  --config FILE  the JSON configuration (default: $XKSGATE_CONFIG)

Exit status: 0 valid; 2 invalid (each problem is printed with the field it is in).
`

export const configCommand: CliCommand = {
  name: 'config',
  summary: 'config check: validate a configuration file exactly as the proxy does at startup',
  async run (args: string[], io: CliIo): Promise<number> {
    const split = splitSubcommand('xksgate config', HELP, ['check'], args, io)
    if (typeof split === 'number') return split
    const parsed = parseCliArgs('xksgate config check', split.rest, { config: { type: 'string' }, help: { type: 'boolean' } }, io)
    if (typeof parsed === 'number') return parsed
    if (parsed.help === true) { io.stdout(HELP); return OK_EXIT }
    if (parsed.positionals.length > 0) {
      io.stderr(`xksgate config check: Unexpected argument '${parsed.positionals[0]}' (see xksgate config check --help)\n`)
      return USAGE_EXIT
    }
    return checkConfigFile('xksgate', parsed.config ?? (io.env.XKSGATE_CONFIG || undefined), io)
  },
}

/** The verdict `xksgate config check` and `xksgate --check` print: one line on stdout, or the problems on stderr. */
export function checkConfigFile (program: string, file: string | undefined, io: CliIo): number {
  if (file === undefined) {
    io.stderr(`${program}: no configuration: give --config FILE or set XKSGATE_CONFIG (see ${program} --help)\n`)
    return USAGE_EXIT
  }
  try {
    const config = loadConfig({ file, env: io.env })
    const keys = config.keyStores.reduce((n, store) => n + Object.keys(store.keys).length, 0)
    io.stdout(`${program}: ${file} is valid (${config.keyStores.length} key store(s), ${keys} key(s))\n`)
    return OK_EXIT
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    io.stderr(`${program}: ${err.message}\n`)
    return USAGE_EXIT
  }
}
