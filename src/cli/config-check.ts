/**
 * `xksgate config check --config FILE`: validation only, by the same code the proxy runs at startup
 * (schema, secrets, cross-field rules, the TLS certificate and key). With `--hsm` it also logs in to every HSM
 * backend and finds every configured key there (the doctor's HSM checks, in a child process with a deadline): what
 * the proxy's start would refuse besides the file itself, a wrong PIN or a missing key, so that a PM2 reload can
 * refuse it before any instance stops (ecosystem.config.cjs).
 */
import { configFileFrom } from '../config/cli-args'
import { ConfigError, loadConfig } from '../config/load'
import { FAILED_EXIT, OK_EXIT, USAGE_EXIT, type CliCommand, type CliIo } from './command'
import { splitSubcommand } from './command-group'
import { hsmLines } from './doctor/hsm-lines'
import { DEFAULT_HSM_TIMEOUT_MS, parseHsmTimeout } from './hsm-job'
import { parseCliArgs } from './parse'

const HELP = `usage: xksgate config check [--config FILE] [--hsm [--hsm-timeout-ms MS]]

  --config FILE        the JSON configuration (default: $XKSGATE_CONFIG)
  --hsm                also log in to every HSM backend and find every configured key and the health-check key
  --hsm-timeout-ms MS  with --hsm: how long the HSM may take to answer (default ${DEFAULT_HSM_TIMEOUT_MS})

Exit status: 0 valid; 1 with --hsm: an HSM check failed or the HSM did not answer in time (each failure is printed);
2 invalid (each problem is printed with the field it is in).
`

export const configCommand: CliCommand = {
  name: 'config',
  summary: 'config check: validate a configuration file exactly as the proxy does at startup',
  async run (args: string[], io: CliIo): Promise<number> {
    const split = splitSubcommand('xksgate config', HELP, ['check'], args, io)
    if (typeof split === 'number') return split
    const parsed = parseCliArgs(PROGRAM, split.rest, { config: { type: 'string' }, hsm: { type: 'boolean' }, 'hsm-timeout-ms': { type: 'string' }, help: { type: 'boolean' } }, io)
    if (typeof parsed === 'number') return parsed
    if (parsed.help === true) { io.stdout(HELP); return OK_EXIT }
    const timeoutMs = parseHsmTimeout(parsed['hsm-timeout-ms'])
    const wrong = parsed.positionals.length > 0 ? `Unexpected argument '${parsed.positionals[0]}'` : typeof timeoutMs === 'string' ? timeoutMs : undefined
    if (wrong !== undefined) {
      io.stderr(`${PROGRAM}: ${wrong} (see ${PROGRAM} --help)\n`)
      return USAGE_EXIT
    }
    const file = configFileFrom(parsed.config, io.env)
    const status = checkConfigFile('xksgate', file, io)
    if (status !== OK_EXIT || parsed.hsm !== true || file === undefined) return status
    return await checkHsm(file, io, timeoutMs as number)
  },
}

const PROGRAM = 'xksgate config check'

/** The doctor's HSM lines; any FAIL fails the check (warnings do not: the proxy starts with them). */
async function checkHsm (file: string, io: CliIo, timeoutMs: number): Promise<number> {
  const checks = await hsmLines({ file, env: io.env, timeoutMs })
  const failed = checks.filter(c => c.status === 'fail')
  if (failed.length > 0) {
    io.stderr(failed.map(c => `${PROGRAM}: ${c.name}: ${c.detail}\n`).join(''))
    return FAILED_EXIT
  }
  io.stdout(`${PROGRAM}: the HSM checks passed (${checks.length} line(s), ${checks.filter(c => c.status === 'warn').length} warning(s); xksgate doctor shows them)\n`)
  return OK_EXIT
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
