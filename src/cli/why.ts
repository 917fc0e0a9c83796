/**
 * `xksgate why KMS_REQUEST_ID`: what the proxy decided about one KMS call, and why. KMS reports almost every
 * failure of an external key store to its caller as KMSInvalidStateException; the request id is what the operator
 * has. This finds the call in this host's request log and audit log and explains each attempt (KMS retries with
 * the same id) with the table behind docs/troubleshooting.md.
 */
import { configFileFrom } from '../config/cli-args'
import { loadConfig } from '../config/load'
import type { XksgateConfig } from '../config/schema'
import { explain, render, renderSummary } from '../explain/explain'
import { otherFleetHosts } from '../explain/fleet-hosts'
import { auditFamily, searchSource, type SearchResult } from '../explain/records'
import { FAILED_EXIT, OK_EXIT, USAGE_EXIT, type CliCommand, type CliIo } from './command'
import { reportConfigError } from './config-file'
import { parseCliArgs } from './parse'

const PROGRAM = 'xksgate why'

const HELP = `usage: xksgate why KMS_REQUEST_ID [--config FILE] [--log FILE]... [--audit FILE]... [--since WHEN] [--json]

Finds one KMS call in this host's request log or audit log and says what the proxy answered, which step of the
request path decided it, and what to do (docs/troubleshooting.md). KMS retries with the same request id, so a
call may show several attempts.

  --log FILE     the request log: a file of the proxy's JSON lines, or - for standard input, e.g.
                 journalctl -u xksgate -o cat --since -1h | xksgate why ID --log -   (repeatable)
  --audit FILE   an audit log file (repeatable); default with a configuration: every file of its audit.file
  --config FILE  the proxy's configuration (default: $XKSGATE_CONFIG): its audit log, and with redis the other
                 hosts of the fleet to look on when the call is not on this one
  --since WHEN   only records since WHEN: a duration ago (90s, 30m, 2h, 1d) or an ISO 8601 time
  --json         print {"found":[…],"summaries":[…],"otherHosts":…,"sources":[…]}

Requests refused before they were authenticated (401, and 429 shed under load) get a line each for the first
ten of a second in each process, with the kmsRequestId they claim (unverified: anyone can claim any); the rest
are summed up in one line a second. When the id is not found, the summaries of the searched period are shown,
each reason with what to do.

Exit status: 0 found; 1 not found in the sources searched; 2 invalid command line, configuration or file.
`

const DURATION = /^(\d+)(s|m|h|d)$/
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** WHEN as milliseconds since the epoch, or undefined when it is neither a duration nor a date. */
export function parseSince (when: string, now = Date.now()): number | undefined {
  const duration = DURATION.exec(when)
  if (duration !== null) return now - Number(duration[1]) * UNIT_MS[duration[2]]
  const time = Date.parse(when)
  return Number.isNaN(time) ? undefined : time
}

async function report (id: string, result: SearchResult, sources: string[], config: XksgateConfig | undefined, json: boolean, io: CliIo): Promise<number> {
  const found = result.matches.map(explain)
  const otherHosts = found.length > 0 || config === undefined ? undefined : await otherFleetHosts(config)
  if (json) {
    io.stdout(JSON.stringify({ kmsRequestId: id, found, summaries: result.summaries.map(s => ({ where: s.where, ...s.fields })), otherHosts, sources }) + '\n')
    return found.length > 0 ? OK_EXIT : FAILED_EXIT
  }
  if (found.length > 0) {
    io.stdout(`kmsRequestId ${id}: ${found.length} record(s)\n`)
    found.forEach((e, i) => io.stdout(`\n${found.length > 1 ? `attempt or record ${i + 1}\n` : ''}${render(e)}`))
    return OK_EXIT
  }
  io.stdout(`kmsRequestId ${id} is not in ${sources.join(', ')} (${result.lines} line(s) read).\n`)
  if (result.summaries.length > 0) {
    io.stdout(`Requests refused without a line each in that period (the call may be among them):\n${result.summaries.slice(-20).map(renderSummary).join('')}`)
  }
  if (Array.isArray(otherHosts)) io.stdout(otherHosts.length > 0 ? `Look on the fleet's other hosts: ${otherHosts.join(', ')}\n` : 'No other host of the fleet is alive.\n')
  else if (otherHosts !== undefined) io.stdout(`Other hosts: ${otherHosts}\n`)
  return FAILED_EXIT
}

export const whyCommand: CliCommand = {
  name: 'why',
  summary: 'what the proxy decided about one KMS call, and why, from this host\'s request log and audit log',
  async run (args: string[], io: CliIo): Promise<number> {
    const parsed = parseCliArgs(PROGRAM, args, {
      config: { type: 'string' }, log: { type: 'string', multiple: true }, audit: { type: 'string', multiple: true },
      since: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    }, io)
    if (typeof parsed === 'number') return parsed
    if (parsed.help === true) { io.stdout(HELP); return OK_EXIT }
    const usage = (message: string): number => { io.stderr(`${PROGRAM}: ${message} (see ${PROGRAM} --help)\n`); return USAGE_EXIT }
    if (parsed.positionals.length !== 1) return usage(parsed.positionals.length === 0 ? 'missing KMS_REQUEST_ID' : `unexpected argument '${parsed.positionals[1]}'`)
    const sinceMs = parsed.since === undefined ? undefined : parseSince(parsed.since)
    if (parsed.since !== undefined && sinceMs === undefined) return usage(`--since ${parsed.since}: expected a duration (30m, 2h, 1d) or an ISO 8601 time`)
    const file = configFileFrom(parsed.config, io.env)
    let config: XksgateConfig | undefined
    if (file !== undefined) {
      try { config = loadConfig({ file, env: io.env }) } catch (err) { return reportConfigError(PROGRAM, err, io) }
    }
    const sources = [...parsed.log ?? [], ...parsed.audit ?? (config?.audit === undefined ? [] : auditFamily(config.audit.file))]
    if (sources.length === 0) return usage('nothing to search: give --log FILE (- for standard input), --audit FILE, or a configuration with an audit section')
    const result: SearchResult = { matches: [], summaries: [], lines: 0, records: 0 }
    try {
      for (const source of sources) await searchSource(source, { kmsRequestId: parsed.positionals[0], sinceMs }, result)
    } catch (err) {
      io.stderr(`${PROGRAM}: ${(err as Error).message}\n`)
      return USAGE_EXIT
    }
    result.matches.sort((a, b) => a.timeMs - b.timeMs)
    return await report(parsed.positionals[0], result, sources, config, parsed.json === true, io)
  },
}
