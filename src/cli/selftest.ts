/**
 * `xksgate selftest`: the conformance suite built into the product (src/selftest/), run against a live proxy —
 * every case of AWS's official test client with exact values, plus SigV4 freshness at ±300/301 s, replay,
 * throttling shape and mTLS. One line per case, then `N passed, N failed`.
 */
import { ConfigError } from '../config/load'
import { targetFromConfig, targetFromConnectionFile, TargetError } from '../selftest/load-target'
import { runSelftest } from '../selftest/run'
import type { CaseResult } from '../selftest/suite'
import type { Target } from '../selftest/target'
import { FAILED_EXIT, OK_EXIT, USAGE_EXIT, type CliCommand, type CliIo } from './command'
import { parseCliArgs } from './parse'

const PROGRAM = 'xksgate selftest'

const HELP = `usage: xksgate selftest --connection FILE [--burst N] [--only TEXT] [--json]
       xksgate selftest --endpoint https://HOST[:PORT] --config FILE [--key-store NAME] [--region REGION]
                        [--ca FILE] [--client-cert FILE --client-key FILE [--client-ca FILE --client-ca-key FILE]]
                        [--burst N] [--only TEXT] [--json]

Runs the XKS conformance suite against a running proxy: the official test client's cases with exact values
(keySpec AES_256, compact JSON, error names and statuses), SigV4 clock skew at +/-300 s (accepted) and +/-301 s
(refused), replay, the shape of a 429, and mTLS when a client certificate is given.

  --connection FILE   endpoint, uriPrefix, region, credential, keys and CA as \`npm run dev\` writes them
                      (DIR/connection.json); its clientCertFile/clientKeyFile/clientCaFile/clientCaKeyFile turn on
                      the mTLS cases
  --endpoint URL      the proxy's XksProxyUriEndpoint (with a port if not 443), used with --config: the key store's
                      uriPrefix, its first credential and the keys whose \`usage\` is configured
  --key-store NAME    which key store of --config (default: the first)
  --region REGION     the SigV4 region to sign for (default us-east-1)
  --ca FILE           the CA of the proxy's certificate (default: the system's)
  --client-cert, --client-key, --client-ca, --client-ca-key FILE   mTLS client certificate, key, CA and CA key
  --burst N           first send N Encrypts at once on N connections, to provoke and check 429s (default 0:
                      never load the proxy); each must be 200, 429 ThrottlingException or 503 DependencyTimeoutException
  --only TEXT         run only the cases whose name contains TEXT (e.g. --only mTLS)
  --json              one JSON object: {"passed","failed","skipped","cases":[{"name","outcome","detail","ms"}]}

The skew cases need this host's clock within 0.5 s of the proxy's. Every case signs with the given credential,
and the replay case spends one signature twice.

Exit status: 0 every case passed (skipped cases say why); 1 a case failed; 2 invalid command line or files.
`

const OPTIONS = {
  connection: { type: 'string' }, endpoint: { type: 'string' }, config: { type: 'string' }, 'key-store': { type: 'string' },
  region: { type: 'string' }, ca: { type: 'string' }, 'client-cert': { type: 'string' }, 'client-key': { type: 'string' },
  'client-ca': { type: 'string' }, 'client-ca-key': { type: 'string' }, burst: { type: 'string' }, only: { type: 'string' }, json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const

type Values = Exclude<ReturnType<typeof parseCliArgs<typeof OPTIONS>>, number>

export const selftestCommand: CliCommand = {
  name: 'selftest',
  summary: 'run the XKS conformance suite (the official test client\'s cases and more) against a running proxy',
  async run (args: string[], io: CliIo): Promise<number> {
    const parsed = parseCliArgs(PROGRAM, args, OPTIONS, io)
    if (typeof parsed === 'number') return parsed
    if (parsed.help === true) { io.stdout(HELP); return OK_EXIT }
    const burst = Number(parsed.burst ?? '0')
    const problem = parsed.positionals.length > 0
      ? `unexpected argument '${parsed.positionals[0]}'`
      : !Number.isInteger(burst) || burst < 0 || burst > 10_000 ? '--burst must be an integer from 0 to 10000' : undefined
    if (problem !== undefined) return usage(io, problem)
    let target: Target
    try {
      target = resolveTarget(parsed, io)
    } catch (err) {
      if (!(err instanceof TargetError || err instanceof ConfigError)) throw err
      return usage(io, err.message)
    }
    const onResult = parsed.json === true ? undefined : (r: CaseResult) => io.stdout(formatResult(r))
    const report = await runSelftest(target, { burst, only: parsed.only, onResult })
    if (parsed.json === true) io.stdout(JSON.stringify(report) + '\n')
    else io.stdout(`${report.passed} passed, ${report.failed} failed${report.skipped > 0 ? `, ${report.skipped} skipped` : ''}\n`)
    return report.failed > 0 ? FAILED_EXIT : OK_EXIT
  },
}

function usage (io: CliIo, problem: string): number {
  io.stderr(`${PROGRAM}: ${problem} (see ${PROGRAM} --help)\n`)
  return USAGE_EXIT
}

function resolveTarget (v: Values, io: CliIo): Target {
  if (v.connection !== undefined) {
    if (v.endpoint !== undefined || v.config !== undefined) throw new TargetError('give --connection, or --endpoint with --config, not both')
    return targetFromConnectionFile(v.connection)
  }
  if (v.endpoint === undefined || v.config === undefined) throw new TargetError('give --connection FILE, or --endpoint URL with --config FILE')
  const cert = v['client-cert']
  const key = v['client-key']
  if ((cert === undefined) !== (key === undefined)) throw new TargetError('--client-cert and --client-key go together')
  return targetFromConfig({
    endpoint: v.endpoint,
    configFile: v.config,
    keyStore: v['key-store'],
    region: v.region,
    caFile: v.ca,
    clientTls: cert === undefined || key === undefined ? undefined : { certFile: cert, keyFile: key, caFile: v['client-ca'], caKeyFile: v['client-ca-key'] },
    env: io.env,
  })
}

function formatResult (r: CaseResult): string {
  const mark = r.outcome === 'passed' ? 'ok     ' : r.outcome === 'failed' ? 'FAILED ' : 'skipped'
  return `${mark} ${r.name}${r.detail !== undefined ? ` — ${r.detail}` : ''} (${r.ms} ms)\n`
}
