/**
 * Reading the proxy's own records for `xksgate why`: the request log (pino JSON lines, as journald or a file keeps
 * them, other lines skipped) and the audit log (one JSON record a line). Files are streamed line by line, so a
 * log of gigabytes costs memory only for what matches.
 */
import fs from 'node:fs'
import readline from 'node:readline'
import type { Readable } from 'node:stream'

/** One JSON line of either log, with where it came from. */
export interface FoundRecord {
  fields: Record<string, unknown>
  /** `FILE:LINE`, or `stdin:LINE`. */
  where: string
  /** Milliseconds since the epoch, from the line's `time`; NaN when it has none. */
  timeMs: number
}

export interface Search {
  kmsRequestId: string
  /** Only records at or after this time (ms since the epoch). */
  sinceMs?: number
}

export interface SearchResult {
  /** The lines whose kmsRequestId is the one searched, oldest first. */
  matches: FoundRecord[]
  /** Lines that count requests refused without a line each (shed 429s, unauthenticated refusals). */
  summaries: FoundRecord[]
  /** How many lines were read, and how many were JSON. */
  lines: number
  records: number
}

/**
 * Refusals the proxy sums up instead of logging each (src/xks/request-log.ts): they carry no kmsRequestId, so a
 * call refused that way is found only by its time.
 */
export function isSummary (fields: Record<string, unknown>): boolean {
  return typeof fields.shed === 'number' || fields.type === 'shed' || fields.type === 'rejected' || typeof fields.rejected === 'number'
}

function timeOf (fields: Record<string, unknown>): number {
  const time = fields.time
  if (typeof time === 'number') return time
  return typeof time === 'string' ? Date.parse(time) : NaN
}

/** Adds the matches and summaries of one source (a file path, or `-` for standard input) to `result`. */
export async function searchSource (source: string, search: Search, result: SearchResult, stdin: Readable = process.stdin): Promise<void> {
  const input = source === '-' ? stdin : fs.createReadStream(source)
  const name = source === '-' ? 'stdin' : source
  const lines = readline.createInterface({ input, crlfDelay: Infinity })
  let n = 0
  for await (const line of lines) {
    n++
    result.lines++
    // Cheap tests first: most lines of a busy log are neither the request nor a summary.
    const maybeMatch = line.includes(search.kmsRequestId)
    if (!maybeMatch && !line.includes('"shed"') && !line.includes('"rejected"')) continue
    let fields: Record<string, unknown>
    try { fields = JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown> } catch { continue }
    result.records++
    const found = { fields, where: `${name}:${n}`, timeMs: timeOf(fields) }
    if (search.sinceMs !== undefined && !(found.timeMs >= search.sinceMs)) continue
    if (fields.kmsRequestId === search.kmsRequestId) result.matches.push(found)
    else if (isSummary(fields)) result.summaries.push(found)
  }
}

/** The audit files of one configured `audit.file`: the file, its siblings of other processes and rotated ones. */
export function auditFamily (file: string): string[] {
  const dir = file.slice(0, file.lastIndexOf('/') + 1) || './'
  const base = file.slice(dir.length)
  let names: string[]
  try { names = fs.readdirSync(dir) } catch { return [] }
  return names.filter(n => (n === base || n.startsWith(base + '.')) && !n.endsWith('.lock')).sort().map(n => dir + n)
}
