/**
 * `xksgate policy explain --config FILE --request JSON`: which statement of a key store's policy decides a request,
 * and why each other statement did not match. The request names its path (which picks the key store, the
 * operation and the key), the SigV4 region and the requestMetadata, as KMS would send them.
 */
import { configFileFrom } from '../config/cli-args'
import fs from 'node:fs'
import { ConfigError, loadConfig } from '../config/load'
import { explain, type Explanation, type ExplainRequest } from '../policy/explain'
import { IMPLICIT_DENY } from '../policy/vocabulary'
import { XksError } from '../xks/errors'
import { FAILED_EXIT, OK_EXIT, USAGE_EXIT, type CliCommand, type CliIo } from './command'
import { splitSubcommand } from './command-group'
import { parseCliArgs } from './parse'

const HELP = `usage: xksgate policy explain [--config FILE] --request JSON|@FILE [--json]

  --config FILE   the JSON configuration (default: $XKSGATE_CONFIG)
  --request JSON  the request, or @FILE to read it from a file:
                  {"path": "/dev/kms/xks/v1/keys/foo/encrypt", "region": "us-east-1",
                   "requestMetadata": {"awsPrincipalArn": "...", "kmsOperation": "Encrypt", ...}}
                  "region" is the SigV4 credential scope's; without it, Region conditions do not match.
  --json          print the explanation as one JSON object

Exit status: 0 allowed; 1 denied; 2 invalid command line, configuration or request.
`

export const policyCommand: CliCommand = {
  name: 'policy',
  summary: 'policy explain: the decision of a key store\'s policy for one request, statement by statement',
  async run (args: string[], io: CliIo): Promise<number> {
    const split = splitSubcommand('xksgate policy', HELP, ['explain'], args, io)
    if (typeof split === 'number') return split
    const parsed = parseCliArgs('xksgate policy explain', split.rest, { config: { type: 'string' }, request: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } }, io)
    if (typeof parsed === 'number') return parsed
    if (parsed.help === true) { io.stdout(HELP); return OK_EXIT }
    const usage = (message: string): number => { io.stderr(`xksgate policy explain: ${message}\n`); return USAGE_EXIT }
    const file = configFileFrom(parsed.config, io.env)
    if (file === undefined) return usage('no configuration: give --config FILE or set XKSGATE_CONFIG')
    if (parsed.request === undefined) return usage('--request is required (see xksgate policy explain --help)')
    let request: ExplainRequest
    try {
      const text = parsed.request.startsWith('@') ? fs.readFileSync(parsed.request.slice(1), 'utf8') : parsed.request
      request = JSON.parse(text) as ExplainRequest
      if (typeof request?.path !== 'string') return usage('the request needs a "path", e.g. "/dev/kms/xks/v1/keys/foo/encrypt"')
      if (request.region !== undefined && typeof request.region !== 'string') return usage('"region" must be a string')
    } catch (err) {
      return usage(`--request: ${(err as Error).message}`)
    }
    let result: Explanation
    try {
      result = explain(loadConfig({ file, env: io.env }).keyStores, request)
    } catch (err) {
      if (err instanceof ConfigError) return usage(err.message)
      if (err instanceof XksError) return usage(`the proxy would answer ${err.status} ${err.errorName} before authorization: ${err.message}`)
      throw err
    }
    io.stdout(parsed.json === true ? JSON.stringify(result) + '\n' : render(result))
    return result.decision === 'allow' ? OK_EXIT : FAILED_EXIT
  },
}

function render (r: Explanation): string {
  const why = {
    exempt: 'GetHealthStatus is never subject to policies',
    'no-policy': 'the key store has no policy: every authenticated request is allowed',
    'unknown-key': `the key store has no key ${r.keyId ?? ''}: the proxy answers 404 KeyNotFoundException before authorization`,
    statement: r.sid === IMPLICIT_DENY ? 'no Allow statement matches (implicit deny)' : `decided by statement ${r.sid ?? ''}`,
  }[r.reason]
  const lines = [
    `${r.decision.toUpperCase()}: ${why}`,
    `  key store ${r.keyStore}, ${r.operation}${r.kmsOperation !== undefined ? ` (kmsOperation ${r.kmsOperation})` : ''}` +
      `${r.keyId !== undefined ? `, key ${r.keyId}` : ''}, region ${r.region ?? '(none)'}`,
  ]
  const width = Math.max(0, ...r.statements.map(s => s.sid.length))
  for (const s of r.statements) {
    const verdict = s.matched ? 'matches' : `does not match: ${s.mismatch?.field ?? ''} (request: ${JSON.stringify(s.mismatch?.requestValue ?? null)})`
    lines.push(`  ${s.sid.padEnd(width)}  ${s.effect.padEnd(5)}  ${verdict}`)
  }
  return lines.join('\n') + '\n'
}
