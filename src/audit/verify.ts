/**
 * Verifying audit files (`xksgate audit verify`): every line must be an authentic record (its MAC verifies
 * under the key), and the records of a chain, files put in order by their first sequence number, must follow
 * one another: seq n+1 after n, each `prev` the MAC before it. The first place where that fails is named with
 * its file and line, as removed, edited, inserted or reordered. Not a failure: with `partial`, a chain whose
 * first files were deleted on purpose (it starts past seq 0, and says so); records the writer declared dropped, and a record cut
 * short by a crash that the next `start` record declares (`damagedTail`). The newest records are the one thing
 * a chain cannot vouch for by itself: given a head recorded elsewhere (`heads`, from the proxy's `audit: chain
 * opened` and `audit: chain closed` log lines), the chain must reach it and hold that very record.
 *
 * A warning, not a failure: a `start` that follows neither a `stop` nor a declared damaged tail. Its process's
 * predecessor crashed, or the records after the one it follows were cut off before the restart; the chain alone
 * cannot tell which (a crash leaves no `stop`), the heads in the ordinary log can. Chains of earlier versions, whose
 * `start` records do not name what they follow, are judged the same way: by the type of the record before.
 */
import fs from 'node:fs'
import { GENESIS_PREV, parseRecord, type ParsedRecord } from './chain'

interface Line { file: string, line: number, text: string, parsed: ParsedRecord | undefined }

export interface ChainSummary {
  chain: string
  firstSeq: number
  lastSeq: number
  lastMac: string
  records: number
  dropped: number
  notes: string[]
  /** Restarts after anything but a clean stop: a crash, or a cut end (see above). */
  warnings: string[]
}

export interface VerifyReport {
  ok: boolean
  /** The first problem, with where it is. */
  problem?: string
  chains: ChainSummary[]
  /** Logged heads of chains in none of the files given (`loggedHeads`). */
  skippedHeads?: number
}

function readLines (file: string, key: Buffer): Line[] {
  const text = fs.readFileSync(file, 'utf8')
  const parts = text.split('\n')
  if (parts.at(-1) === '') parts.pop()
  return parts.map((t, i) => ({ file, line: i + 1, text: t, parsed: parseRecord(t, key) }))
}

const where = (l: Line): string => `${l.file}:${l.line}`
const authentic = (l: Line): boolean => l.parsed?.authentic === true

/** A head recorded elsewhere (the proxy's `audit: chain closed` log line): the chain must reach it, unchanged. */
export interface KnownHead { chain: string, seq: number, mac: string }

export interface VerifyOptions {
  /** A chain may begin past seq 0 (its oldest files were deleted on purpose, or not given). */
  partial?: boolean
  heads?: readonly KnownHead[]
  /**
   * Heads taken from a log (every process's): held to the chains like `heads`, but a head of a chain none of the
   * files holds is skipped (another process's chain), and counted in the report.
   */
  loggedHeads?: readonly KnownHead[]
}

export function verifyFiles (files: readonly string[], key: Buffer, options: VerifyOptions = {}): VerifyReport {
  const perFile = files.map(f => readLines(f, key))
  for (const [i, lines] of perFile.entries()) {
    if (!lines.some(authentic)) return { ok: false, problem: `${files[i]}: no record in it verifies with this key`, chains: [] }
  }
  // Files in chain order: by chain id, then by the sequence number of their first authentic record.
  const first = (lines: Line[]): ParsedRecord => lines.find(authentic)?.parsed as ParsedRecord
  perFile.sort((a, b) => first(a).chain.localeCompare(first(b).chain) || first(a).seq - first(b).seq)
  const inFiles = new Set(perFile.map(lines => first(lines).chain))
  const logged = (options.loggedHeads ?? []).filter(h => inFiles.has(h.chain))
  const skippedHeads = (options.loggedHeads?.length ?? 0) - logged.length
  options = { ...options, heads: [...options.heads ?? [], ...logged] }
  const chains: ChainSummary[] = []
  let current: Line[] = []
  for (const lines of perFile) {
    if (current.length > 0 && first(current).chain !== first(lines).chain) {
      const result = verifyChain(current, chains, options)
      if (result !== undefined) return { ok: false, problem: result, chains }
      current = []
    }
    current.push(...lines)
  }
  const result = verifyChain(current, chains, options)
  if (result !== undefined) return { ok: false, problem: result, chains }
  // The newest head first, so the report names all that is missing.
  for (const head of [...options.heads ?? []].sort((a, b) => b.seq - a.seq)) {
    const chain = chains.find(c => c.chain === head.chain)
    if (chain === undefined) return { ok: false, problem: `chain ${head.chain} of the head given is in none of the files`, chains }
    if (chain.lastSeq < head.seq) {
      return { ok: false, problem: `chain ${head.chain}: record(s) seq ${chain.lastSeq + 1} to ${head.seq} were removed from its end (the head given is seq ${head.seq})`, chains }
    }
  }
  return { ok: true, chains, ...(skippedHeads > 0 && { skippedHeads }) }
}

/** The first problem in one chain's lines, or undefined; appends the chain's summary. */
function verifyChain (lines: Line[], chains: ChainSummary[], options: VerifyOptions): string | undefined {
  const partial = options.partial === true
  const start = lines.find(authentic)?.parsed as ParsedRecord
  const summary: ChainSummary = { chain: start.chain, firstSeq: start.seq, lastSeq: start.seq - 1, lastMac: start.seq === 0 ? GENESIS_PREV : start.prev, records: 0, dropped: 0, notes: [], warnings: [] }
  chains.push(summary)
  let lastType: unknown
  let afterDamage = false
  if (start.seq > 0) {
    const first = lines.find(authentic) as Line
    if (!partial) return `${where(first)}: chain ${start.chain} begins at seq ${start.seq}: records seq 0 to ${start.seq - 1} were removed, or are in files not given (--partial accepts that)`
    summary.notes.push(`begins at seq ${start.seq}: the files holding seq 0 to ${start.seq - 1} were not given`)
  }
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]
    const expected = summary.lastSeq + 1
    if (!authentic(l)) {
      const next = lines.slice(i + 1).find(authentic)
      const run = lines.slice(i, next === undefined ? lines.length : lines.indexOf(next))
      if (next !== undefined && follows(next.parsed as ParsedRecord, summary) && declaresDamage(next.parsed as ParsedRecord, run)) {
        summary.notes.push(`${where(l)}: a record cut short (${run.length} line(s)), declared by the restart at seq ${(next.parsed as ParsedRecord).seq}`)
        afterDamage = true
        i += run.length - 1
        continue
      }
      if (l.parsed !== undefined && l.parsed.seq === expected && l.parsed.chain === summary.chain) return `${where(l)}: record seq ${expected} was edited (its MAC does not verify)`
      if (next !== undefined && follows(next.parsed as ParsedRecord, summary)) return `${where(l)}: a line was inserted after seq ${summary.lastSeq} (it is not an authentic record)`
      return `${where(l)}: not an authentic record where seq ${expected} should be (edited or inserted)`
    }
    const r = l.parsed as ParsedRecord
    if (r.chain !== summary.chain) return `${where(l)}: record seq ${r.seq} of another chain (${r.chain}) was inserted into chain ${summary.chain}`
    if (r.seq > expected) {
      const later = lines.slice(i + 1).find(x => authentic(x) && (x.parsed as ParsedRecord).seq === expected)
      return later !== undefined
        ? `${where(l)}: records were reordered: seq ${r.seq} comes before seq ${expected} (${where(later)})`
        : `${where(l)}: record(s) seq ${expected}${r.seq - 1 > expected ? ` to ${r.seq - 1}` : ''} were removed before seq ${r.seq}`
    }
    if (r.seq < expected) return `${where(l)}: records were reordered: seq ${r.seq} comes after seq ${summary.lastSeq}`
    if (r.prev !== summary.lastMac) return `${where(l)}: record seq ${r.seq} does not chain to seq ${summary.lastSeq} (a record was replaced, or two writers shared the file)`
    if (options.heads?.some(h => h.chain === r.chain && h.seq === r.seq && h.mac !== r.mac) === true) return `${where(l)}: record seq ${r.seq} is not the one the head given names (the chain was rewritten from there)`
    if (r.record.type === 'start' && summary.records > 0 && lastType !== 'stop' && !afterDamage) {
      summary.warnings.push(`${where(l)}: the start at seq ${r.seq} follows seq ${summary.lastSeq} (${String(lastType)}), not a stop: ` +
        `the process before crashed, or records after seq ${summary.lastSeq} were cut off before this restart; the heads in the ordinary log tell which (--heads-from)`)
    }
    lastType = r.record.type
    afterDamage = false
    summary.lastSeq = r.seq
    summary.lastMac = r.mac
    summary.records++
    if (r.record.type === 'dropped') summary.dropped += Number(r.record.count)
  }
  return undefined
}

function follows (r: ParsedRecord, summary: ChainSummary): boolean {
  return r.chain === summary.chain && r.seq === summary.lastSeq + 1 && r.prev === summary.lastMac
}

/** A `start` record whose damagedTail is exactly the bytes of `run` (with or without the newline it lacked). */
function declaresDamage (r: ParsedRecord, run: Line[]): boolean {
  if (r.record.type !== 'start' || typeof r.record.damagedTail !== 'number') return false
  const bytes = run.reduce((n, l) => n + Buffer.byteLength(l.text) + 1, 0)
  return r.record.damagedTail === bytes || r.record.damagedTail === bytes - 1
}
