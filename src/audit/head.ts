/**
 * Where a starting process picks up its chain: the last authentic record of its file, or, when the file is
 * missing or empty (just rotated), of the newest rotated file beside it. A record is at most a few KiB, so the
 * last 1 MiB of a file is enough to find it. Whatever follows that record (a line cut short by a crash or a
 * full disk) is reported as `damagedTail`, and whether that record is a `stop` as `stopped`: the next `start`
 * record declares both, so a start after anything but a clean stop shows (verify.ts).
 */
import fs from 'node:fs'
import path from 'node:path'
import { parseRecord, type ChainHead } from './chain'
import { isRotatedName } from './writer'

const TAIL_BYTES = 1 << 20

export class AuditHeadError extends Error {}

export interface Recovered {
  head: ChainHead | undefined
  /** Whether `head` is a `stop` record: the process before stopped cleanly. */
  stopped: boolean
  /** Bytes after the last authentic record of the current file. */
  damagedTail: number
  /** Whether the current file ends without a newline (the next record must start on a line of its own). */
  needsNewline: boolean
  /** Size of the current file. */
  fileBytes: number
}

/** Rotated files of `file`, oldest first (their suffix is a UTC time, so names sort in time order). */
export function rotatedFiles (file: string): string[] {
  const dir = path.dirname(file)
  let names: string[]
  try { names = fs.readdirSync(dir) } catch { return [] }
  return names.filter(n => isRotatedName(file, n)).sort().map(n => path.join(dir, n))
}

/** The last authentic record in a file's tail, and how many bytes follow it. */
function lastRecord (file: string, key: Buffer): { head: ChainHead | undefined, stopped: boolean, after: number, size: number, endsWithNewline: boolean } {
  const none = { head: undefined, stopped: false, after: 0, size: 0, endsWithNewline: true }
  let fd: number
  try {
    // Only a regular file has an end to read: opening a pipe would wait for its writer, a device has no records.
    if (!fs.statSync(file).isFile()) return none
    fd = fs.openSync(file, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return none
    throw err
  }
  try {
    const size = fs.fstatSync(fd).size
    const start = Math.max(0, size - TAIL_BYTES)
    const buf = Buffer.alloc(size - start)
    fs.readSync(fd, buf, 0, buf.length, start)
    const text = buf.toString('utf8')
    let end = text.length
    while (end > 0) {
      const lineEnd = text.lastIndexOf('\n', end - 1)
      const lineStart = text.lastIndexOf('\n', lineEnd - 1) + 1
      if (lineEnd < 0) break
      const parsed = parseRecord(text.slice(lineStart, lineEnd), key)
      if (parsed?.authentic === true) {
        const stopped = parsed.record.type === 'stop'
        return { head: { chain: parsed.chain, seq: parsed.seq, mac: parsed.mac }, stopped, after: Buffer.byteLength(text.slice(lineEnd + 1)), size, endsWithNewline: text.endsWith('\n') }
      }
      end = lineStart
    }
    return { head: undefined, stopped: false, after: size, size, endsWithNewline: size === 0 || text.endsWith('\n') }
  } finally {
    fs.closeSync(fd)
  }
}

export function recoverHead (file: string, key: Buffer): Recovered {
  const current = lastRecord(file, key)
  if (current.head !== undefined) {
    return { head: current.head, stopped: current.stopped, damagedTail: current.after, needsNewline: !current.endsWithNewline, fileBytes: current.size }
  }
  if (current.size > 0) {
    throw new AuditHeadError(`/audit/key: no record at the end of ${file} verifies with this key (another key, or the file was altered); ` +
      'move the file aside to begin a new chain')
  }
  const newest = rotatedFiles(file).at(-1)
  if (newest === undefined) return { head: undefined, stopped: false, damagedTail: 0, needsNewline: false, fileBytes: 0 }
  const rotated = lastRecord(newest, key)
  if (rotated.head === undefined) {
    throw new AuditHeadError(`/audit/key: no record at the end of ${newest} verifies with this key (another key, or the file was altered)`)
  }
  return { head: rotated.head, stopped: rotated.stopped, damagedTail: 0, needsNewline: false, fileBytes: 0 }
}
