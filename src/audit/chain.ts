/**
 * The audit log's record format and its keyed hash chain. A record is one line of compact JSON:
 *
 *   {"v":1,"chain":"<id>","seq":N,"time":"<ISO 8601>","type":"request",...fields...,"prev":"<hex>","mac":"<hex>"}
 *
 * `mac` = hex HMAC-SHA256(key, every byte of the line before `,"mac":`), and `prev` is the previous record's mac
 * (64 zeros for the first record of a chain). So each MAC covers its record and, through `prev`, everything
 * before it: a record edited, inserted, removed or moved breaks the chain at that point, and only a holder of the
 * key can write a record that verifies. `seq` counts from 0 and lets the verifier say which record is missing.
 * The MAC is over the bytes as written, so verifying needs no canonical re-serialisation.
 *
 * Record types: `request` (the request log's fields, src/xks/request-log.ts), `start` (a process began writing
 * the chain: `previous` names the record it follows and whether that was a `stop`, and `damagedTail` a record
 * cut short by a crash), `stop`, `shed` (requests shed with 429, summed per second, as the request log sums
 * them), `rejected` (requests refused before authentication, summed per second in groups:
 * src/xks/rejection-summary.ts) and `dropped` (records lost because the disk could not keep up; see writer.ts).
 */
import { createHmac, randomBytes } from 'node:crypto'

export const GENESIS_PREV = '0'.repeat(64)
const MAC_SUFFIX = /,"mac":"([0-9a-f]{64})"}$/

export interface ChainHead { chain: string, seq: number, mac: string }

/** A fresh chain id: 16 hex digits, so records of two chains can never be mistaken for one another. */
export const newChainId = (): string => randomBytes(8).toString('hex')

export function macOf (key: Buffer, signedText: string): string {
  return createHmac('sha256', key).update(signedText).digest('hex')
}

/** Appends records to one chain, in memory; each line ends with its newline. */
export class AuditChain {
  #seq: number
  #prev: string

  /** `head`: the last record already written (a restart or a rotation continues from it); none starts a chain. */
  constructor (private readonly key: Buffer, head: ChainHead | undefined) {
    this.chain = head?.chain ?? newChainId()
    this.#seq = head === undefined ? 0 : head.seq + 1
    this.#prev = head?.mac ?? GENESIS_PREV
  }

  readonly chain: string

  get head (): ChainHead | undefined {
    return this.#seq === 0 ? undefined : { chain: this.chain, seq: this.#seq - 1, mac: this.#prev }
  }

  /**
   * Builds the next record and hands its line to `accept`; the chain advances only if `accept` takes it, so a
   * line the writer refuses never takes a sequence number (and leaves no gap).
   */
  tryAppend (type: string, fields: object, accept: (line: string) => boolean, now = new Date()): boolean {
    const body = JSON.stringify({ v: 1, chain: this.chain, seq: this.#seq, time: now.toISOString(), type, ...fields, prev: this.#prev })
    // The text before the closing brace is what the MAC covers; the MAC then closes the object.
    const signed = body.slice(0, -1)
    const mac = macOf(this.key, signed)
    if (!accept(signed + ',"mac":"' + mac + '"}\n')) return false
    this.#seq++
    this.#prev = mac
    return true
  }
}

export interface ParsedRecord {
  record: Record<string, unknown>
  chain: string
  seq: number
  prev: string
  mac: string
  /** Whether `mac` is the HMAC of the line under `key`. */
  authentic: boolean
}

/** A line as a record, or undefined when it is not one at all (not JSON, no MAC, fields of the wrong type). */
export function parseRecord (line: string, key: Buffer): ParsedRecord | undefined {
  const match = MAC_SUFFIX.exec(line)
  if (match === null) return undefined
  let record: Record<string, unknown>
  try { record = JSON.parse(line) as Record<string, unknown> } catch { return undefined }
  const { chain, seq, prev } = record
  if (typeof chain !== 'string' || !Number.isSafeInteger(seq) || typeof prev !== 'string') return undefined
  const mac = match[1]
  return { record, chain, seq: seq as number, prev, mac, authentic: macOf(key, line.slice(0, match.index)) === mac }
}
