/**
 * `xksgate audit verify FILE…`: checks audit files (src/audit/) against the HMAC key and reports the first
 * removed, edited, inserted or reordered record. The key comes from the proxy's configuration (`audit.key`) or
 * from a file, so the log can be verified on another host than the one that wrote it.
 */
import fs from 'node:fs'
import { verifyFiles, type KnownHead } from '../audit/verify'
import { ConfigError, loadConfig } from '../config/load'
import { FAILED_EXIT, OK_EXIT, USAGE_EXIT, type CliCommand, type CliIo } from './command'
import { splitSubcommand } from './command-group'
import { parseCliArgs } from './parse'

const PROGRAM = 'xksgate audit verify'

const HELP = `usage: xksgate audit verify (--config FILE | --key-file FILE) [--heads-from LOG] [--head CHAIN:SEQ:MAC] [--partial] [--strict] [--json] FILE...

Verifies audit log files: every record authentic under the HMAC key, each chain unbroken across the files (give
a process's current file and its rotated ones, in any order). Reports the first removed, edited, inserted or
reordered record with its file and line, and each chain's head (seq and MAC). Records cut from the end, or cut
and then followed by a restart, show only against heads recorded elsewhere: give the proxy's log (a copy kept
off the host) as --heads-from, and every 'audit: chain opened' and 'audit: chain closed' head in it is checked.

  --config FILE      the proxy's configuration; the key is its audit.key
  --key-file FILE    the key itself (a trailing newline is ignored), to verify on another host
  --heads-from LOG   the proxy's JSON log (repeatable): each chain in the files must reach every head the log
                     names for it, and hold those very records; heads of chains not in the files are skipped
  --head C:S:M       one head recorded elsewhere: chain C must reach seq S, and its record S must have MAC M
  --partial          a chain may begin past seq 0 (its oldest files were deleted on purpose)
  --strict           a warning fails too: a start after anything but a clean stop (a crash, or a cut end)
  --json             {"ok","problem","chains":[{"chain","firstSeq","lastSeq","lastMac","records","dropped","notes","warnings"}],"skippedHeads"}

Exit status: 0 every chain verified (warnings are printed); 1 a problem was found (or, with --strict, a
warning); 2 invalid command line, key or unreadable file.
`

export const auditCommand: CliCommand = {
  name: 'audit',
  summary: 'audit verify: check the tamper-evident audit log and name the first altered record',
  async run (args: string[], io: CliIo): Promise<number> {
    const split = splitSubcommand(PROGRAM, HELP, ['verify'], args, io)
    if (typeof split === 'number') return split
    const parsed = parseCliArgs(PROGRAM, split.rest, {
      config: { type: 'string' }, 'key-file': { type: 'string' }, head: { type: 'string', multiple: true }, 'heads-from': { type: 'string', multiple: true },
      partial: { type: 'boolean' }, strict: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    }, io)
    if (typeof parsed === 'number') return parsed
    if (parsed.help === true) { io.stdout(HELP); return OK_EXIT }
    if (parsed.positionals.length === 0) return usage(io, 'no audit file given')
    if ((parsed.config === undefined) === (parsed['key-file'] === undefined)) return usage(io, 'give --config FILE or --key-file FILE')
    const heads = (parsed.head ?? []).map(h => /^([0-9a-f]{16}):(\d+):([0-9a-f]{64})$/.exec(h))
    if (heads.some(m => m === null)) return usage(io, '--head must be CHAIN:SEQ:MAC (16 hex digits, a number, 64 hex digits)')
    let key: Buffer
    let report: ReturnType<typeof verifyFiles>
    try {
      key = readKey(parsed.config, parsed['key-file'], io.env)
      report = verifyFiles(parsed.positionals, key, {
        partial: parsed.partial === true,
        heads: heads.map(m => ({ chain: String(m?.[1]), seq: Number(m?.[2]), mac: String(m?.[3]) })),
        loggedHeads: (parsed['heads-from'] ?? []).flatMap(headsInLog),
      })
    } catch (err) {
      if (err instanceof ConfigError || (err as NodeJS.ErrnoException).code !== undefined) return usage(io, (err as Error).message)
      throw err
    }
    const warnings = report.chains.reduce((n, c) => n + c.warnings.length, 0)
    const ok = report.ok && (parsed.strict !== true || warnings === 0)
    if (parsed.json === true) {
      io.stdout(JSON.stringify(report) + '\n')
    } else {
      for (const c of report.chains) {
        io.stdout(`chain ${c.chain}: ${c.records} record(s), seq ${c.firstSeq} to ${c.lastSeq}, head ${c.lastMac}${c.dropped > 0 ? `, ${c.dropped} declared dropped by the writer` : ''}\n`)
        for (const note of c.notes) io.stdout(`  note: ${note}\n`)
        for (const warning of c.warnings) io.stdout(`  WARNING: ${warning}\n`)
      }
      if (report.skippedHeads !== undefined) io.stdout(`${report.skippedHeads} head(s) in the log belong to chains in none of the files given, and were skipped\n`)
      if (!report.ok) io.stdout(`FAILED: ${String(report.problem)}\n`)
      else io.stdout(warnings === 0 ? 'verified\n' : `verified, with ${warnings} warning(s)${ok ? '' : ' (--strict: failed)'}\n`)
    }
    return ok ? OK_EXIT : FAILED_EXIT
  },
}

function usage (io: CliIo, problem: string): number {
  io.stderr(`${PROGRAM}: ${problem} (see ${PROGRAM} --help)\n`)
  return USAGE_EXIT
}

const HEAD_LINES = new Set(['audit: chain opened', 'audit: chain closed'])

/**
 * The heads a proxy's log names (its `audit: chain opened` and `audit: chain closed` lines, JSON from the first
 * '{' of a line, so a journald or PM2 prefix does no harm). A stop whose records did not all reach the disk
 * (`unwritten` > 0) names a head the file never held, and is left out.
 */
function headsInLog (file: string): KnownHead[] {
  const heads: KnownHead[] = []
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes('"audit: chain ')) continue
    let l: Record<string, unknown>
    try { l = JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown> } catch { continue }
    if (!HEAD_LINES.has(String(l.msg)) || Number(l.unwritten ?? 0) > 0) continue
    if (typeof l.chain === 'string' && /^[0-9a-f]{16}$/.test(l.chain) && Number.isSafeInteger(l.seq) && typeof l.mac === 'string' && /^[0-9a-f]{64}$/.test(l.mac)) {
      heads.push({ chain: l.chain, seq: l.seq as number, mac: l.mac })
    }
  }
  return heads
}

function readKey (configFile: string | undefined, keyFile: string | undefined, env: NodeJS.ProcessEnv): Buffer {
  if (keyFile !== undefined) return Buffer.from(fs.readFileSync(keyFile, 'utf8').replace(/\r?\n$/, ''), 'utf8')
  const audit = loadConfig({ file: String(configFile), env }).audit
  if (audit === undefined) throw new ConfigError([`${String(configFile)}: has no audit section`])
  return Buffer.from(audit.key.reveal(), 'utf8')
}
