/**
 * `xksgate doctor --config FILE`: everything the proxy needs to serve KMS, checked one line at a time, then a
 * verdict. The configuration is validated first by the startup code; the rest runs whatever fails.
 */
import { configFileFrom } from '../config/cli-args'
import { ConfigError, loadConfig } from '../config/load'
import { FAILED_EXIT, OK_EXIT, USAGE_EXIT, type CliCommand, type CliIo } from './command'
import { reportConfigError } from './config-file'
import type { Check } from './doctor/check'
import { certificateChecks } from './doctor/certificate'
import { clockCheck, portChecks, redisCheck } from './doctor/host-checks'
import { hsmLines } from './doctor/hsm-lines'
import { DEFAULT_HSM_TIMEOUT_MS, parseHsmTimeout } from './hsm-job'
import { parseCliArgs } from './parse'

const PROGRAM = 'xksgate doctor'

const HELP = `usage: xksgate doctor [--config FILE] [--hostname NAME] [--hsm-timeout-ms MS] [--json]

Checks, one line each: the configuration; each HSM backend (module, token, PIN), and on each every configured key
version and the health-check key (present, unambiguous, AES-256, sensitive, not extractable, usages as
configured; with several backends each line names its backend, and one more line per key says whether they
hold the same key material); the health key separate from customer keys; the TLS certificate (chain complete up
to a public root, key matches, host name, days to expiry); Redis (PING); the TLS, health and metrics ports
bindable; the system clock synchronised.

  --config FILE       the JSON configuration (default: $XKSGATE_CONFIG)
  --hostname NAME     the DNS name KMS connects to (XksProxyUriEndpoint), to check the certificate covers it
  --hsm-timeout-ms MS  how long the HSM checks may take before the HSM counts as unreachable (default ${DEFAULT_HSM_TIMEOUT_MS})
  --json              print the checks as JSON

Lines: ok, warn (works, but act on it), FAIL, unknown (this host cannot tell).
Exit status: 0 no check failed; 1 a check failed; 2 invalid command line or configuration.
`

export const doctorCommand: CliCommand = {
  name: 'doctor',
  summary: 'check the HSM, keys, certificate, Redis, ports and clock for a configuration',
  async run (args: string[], io: CliIo): Promise<number> {
    const parsed = parseCliArgs(PROGRAM, args, { config: { type: 'string' }, hostname: { type: 'string' }, 'hsm-timeout-ms': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } }, io)
    if (typeof parsed === 'number') return parsed
    if (parsed.help === true) { io.stdout(HELP); return OK_EXIT }
    const hsmTimeoutMs = parseHsmTimeout(parsed['hsm-timeout-ms'])
    if (typeof hsmTimeoutMs === 'string') {
      io.stderr(`${PROGRAM}: ${hsmTimeoutMs} (see ${PROGRAM} --help)\n`)
      return USAGE_EXIT
    }
    const file = configFileFrom(parsed.config, io.env)
    if (parsed.positionals.length > 0 || file === undefined) {
      io.stderr(`${PROGRAM}: ${file === undefined ? 'no configuration: give --config FILE or set XKSGATE_CONFIG' : `unexpected argument '${parsed.positionals[0]}'`} (see ${PROGRAM} --help)\n`)
      return USAGE_EXIT
    }
    let config
    try {
      config = loadConfig({ file, env: io.env })
    } catch (err) {
      if (err instanceof ConfigError && parsed.json === true) io.stdout(JSON.stringify({ checks: [{ name: 'configuration', status: 'fail', detail: err.problems.join('; ') }], verdict: 'fail' }) + '\n')
      return reportConfigError(PROGRAM, err, io)
    }
    const checks: Check[] = [
      { name: 'configuration', status: 'ok', detail: `${file} is valid` },
      ...await hsmLines({ file, env: io.env, timeoutMs: hsmTimeoutMs }),
      ...certificateChecks(config.server.tls, parsed.hostname),
      await redisCheck(config),
      ...await portChecks(config),
      await clockCheck(),
    ]
    const failed = checks.filter(c => c.status === 'fail').length
    const warned = checks.filter(c => c.status === 'warn').length
    if (parsed.json === true) io.stdout(JSON.stringify({ checks, verdict: failed > 0 ? 'fail' : 'ok' }) + '\n')
    else {
      const mark = { ok: 'ok     ', warn: 'warn   ', fail: 'FAIL   ', unknown: 'unknown' }
      io.stdout(checks.map(c => `${mark[c.status]}  ${c.name}: ${c.detail}\n`).join('') +
        `${checks.length - failed - warned} ok, ${warned} warning(s), ${failed} failed: ${failed > 0 ? 'NOT READY to serve KMS' : 'ready to serve KMS'}\n`)
    }
    return failed > 0 ? FAILED_EXIT : OK_EXIT
  },
}
