/**
 * The wire format between the pool (main thread) and its HSM worker threads: a batch of operations, or of their
 * outcomes, packed into one ArrayBuffer that is transferred, not copied, through the worker's MessagePort.
 *
 * Why: structured-cloning a batch of operation objects (each with Buffers) cost ~27 µs of CPU per operation on
 * this project's 2-core machine, and piscina's own task round trip ~57 µs per task even with a transferred
 * buffer; a bare MessagePort round trip with one transferred ArrayBuffer costs ~28 µs per batch, whatever the
 * batch holds (measured; see bench/README.md). Packing is a few memcpy calls, and the receiving side reads every
 * payload as a Buffer view over the transferred memory.
 *
 * A batch: count u32 | concurrency u32, then the operation records. Operation record: id u32 | kind u8 | flags u8 |
 * label length u16 | deadline f64 | 4 field lengths u32, then the label (UTF-8) and the 4 fields. An answer:
 * count u32, then outcome records: id u32 | kind u8 | HSM time µs u32 | 3 field lengths u32, then the fields.
 * All little-endian. The id pairs an outcome with its operation: operations run on several sessions at once
 * finish out of order, and each is answered as soon as it is done.
 */
import type { DecryptResult, EncryptResult, HsmFailure, HsmOutcome, KeyAttributes, TokenInfo } from '../types'

/** An operation as the pool hands it to a worker. `deadline` is ms since the epoch. */
export type HsmOp =
  | { kind: 'encrypt', deadline: number, keyLabel: string, plaintext: Buffer, gcmAad: Buffer, integrityPrefix?: Buffer }
  | { kind: 'decrypt', deadline: number, keyLabel: string, ciphertext: Buffer, tag: Buffer, iv: Buffer, gcmAad: Buffer }
  | { kind: 'describeKey', deadline: number, keyLabel: string }
  | { kind: 'tokenInfo', deadline: number }

export type HsmOpOutcome = HsmOutcome<EncryptResult | DecryptResult | KeyAttributes | TokenInfo>

const OP_KINDS = ['encrypt', 'decrypt', 'describeKey', 'tokenInfo'] as const
const OP_HEADER = 4 + 1 + 1 + 2 + 8 + 4 * 4
const OUTCOME_HEADER = 4 + 1 + 4 + 3 * 4
const BATCH_HEADER = 8
const ANSWER_HEADER = 4
const HAS_INTEGRITY = 1
const EMPTY = Buffer.alloc(0)

const enum OutcomeKind { Encrypted, Decrypted, Json, Failed }

function fieldsOf (op: HsmOp): readonly Buffer[] {
  switch (op.kind) {
    case 'encrypt': return [op.plaintext, op.gcmAad, op.integrityPrefix ?? EMPTY, EMPTY]
    case 'decrypt': return [op.ciphertext, op.gcmAad, op.tag, op.iv]
    default: return [EMPTY, EMPTY, EMPTY, EMPTY]
  }
}

function labelOf (op: HsmOp): string {
  return op.kind === 'tokenInfo' ? '' : op.keyLabel
}

/**
 * How a worker runs a batch: `concurrency` 1 runs its operations one after another on this thread; more spreads
 * them over that many sessions at once through the asynchronous calls (steps.ts).
 */
export interface Batch { concurrency: number, ids: readonly number[], ops: readonly HsmOp[] }

/** What a worker answers: outcomes by operation id, each with the time its operation spent in the HSM (µs). */
export interface BatchAnswer { ids: readonly number[], outcomes: readonly HsmOpOutcome[], hsmMicros: readonly number[] }

export function encodeOps ({ concurrency, ids, ops }: Batch): ArrayBuffer {
  let size = BATCH_HEADER
  for (const op of ops) {
    size += OP_HEADER + Buffer.byteLength(labelOf(op))
    for (const f of fieldsOf(op)) size += f.length
  }
  const out = Buffer.from(new ArrayBuffer(size))
  out.writeUInt32LE(ops.length, 0)
  out.writeUInt32LE(concurrency, 4)
  let at = BATCH_HEADER
  for (const [i, op] of ops.entries()) {
    out.writeUInt32LE(ids[i], at)
    at += 4
    const fields = fieldsOf(op)
    const label = labelOf(op)
    out[at] = OP_KINDS.indexOf(op.kind)
    out[at + 1] = op.kind === 'encrypt' && op.integrityPrefix !== undefined ? HAS_INTEGRITY : 0
    const labelBytes = out.write(label, at + OP_HEADER - 4, 'utf8')
    out.writeUInt16LE(labelBytes, at + 2)
    out.writeDoubleLE(op.deadline, at + 4)
    for (let i = 0; i < 4; i++) out.writeUInt32LE(fields[i].length, at + 12 + 4 * i)
    at += OP_HEADER - 4 + labelBytes
    for (const f of fields) at += f.copy(out, at)
  }
  return out.buffer as ArrayBuffer
}

export function decodeOps (buffer: ArrayBuffer): Batch & { ops: HsmOp[] } {
  const b = Buffer.from(buffer)
  const ops: HsmOp[] = []
  const ids: number[] = []
  let at = BATCH_HEADER
  for (let n = b.readUInt32LE(0); n > 0; n--) {
    ids.push(b.readUInt32LE(at))
    at += 4
    const kind = OP_KINDS[b[at]]
    const flags = b[at + 1]
    const labelBytes = b.readUInt16LE(at + 2)
    const deadline = b.readDoubleLE(at + 4)
    const lengths = [0, 1, 2, 3].map(i => b.readUInt32LE(at + 12 + 4 * i))
    at += OP_HEADER - 4
    const keyLabel = b.toString('utf8', at, at + labelBytes)
    at += labelBytes
    const f = lengths.map(length => { const view = b.subarray(at, at + length); at += length; return view })
    switch (kind) {
      case 'encrypt':
        ops.push({ kind, deadline, keyLabel, plaintext: f[0], gcmAad: f[1], ...((flags & HAS_INTEGRITY) !== 0 && { integrityPrefix: f[2] }) })
        break
      case 'decrypt': ops.push({ kind, deadline, keyLabel, ciphertext: f[0], gcmAad: f[1], tag: f[2], iv: f[3] }); break
      case 'describeKey': ops.push({ kind, deadline, keyLabel }); break
      case 'tokenInfo': ops.push({ kind, deadline }); break
    }
  }
  return { concurrency: b.readUInt32LE(4), ids, ops }
}

/** The outcome's kind and fields. An encrypt's ciphertext and tag travel as one field, as C_Encrypt returns them. */
function outcomeFields (outcome: HsmOpOutcome): [OutcomeKind, Buffer, Buffer, Buffer] {
  if (!outcome.ok) return [OutcomeKind.Failed, Buffer.from(JSON.stringify(outcome.failure)), EMPTY, EMPTY]
  const v = outcome.value
  if ('ciphertext' in v) {
    // Adjacent views of C_Encrypt's one output buffer: joining them costs no copy unless they were split apart.
    const sealed = v.ciphertext.buffer === v.tag.buffer && v.ciphertext.byteOffset + v.ciphertext.length === v.tag.byteOffset
      ? Buffer.from(v.ciphertext.buffer, v.ciphertext.byteOffset, v.ciphertext.length + v.tag.length)
      : Buffer.concat([v.ciphertext, v.tag])
    return [OutcomeKind.Encrypted, sealed, v.iv, v.integrityDigest ?? EMPTY]
  }
  if ('plaintext' in v) return [OutcomeKind.Decrypted, v.plaintext, EMPTY, EMPTY]
  return [OutcomeKind.Json, Buffer.from(JSON.stringify(v)), EMPTY, EMPTY]
}

export function encodeOutcomes ({ ids, outcomes, hsmMicros }: BatchAnswer): ArrayBuffer {
  const records = outcomes.map(outcomeFields)
  let size = ANSWER_HEADER
  for (const [, a, b, c] of records) size += OUTCOME_HEADER + a.length + b.length + c.length
  const out = Buffer.from(new ArrayBuffer(size))
  out.writeUInt32LE(records.length, 0)
  let at = ANSWER_HEADER
  for (const [r, [kind, ...fields]] of records.entries()) {
    out.writeUInt32LE(ids[r], at)
    out[at + 4] = kind
    out.writeUInt32LE(Math.min(0xffffffff, Math.round(hsmMicros[r] ?? 0)), at + 5)
    for (let i = 0; i < 3; i++) out.writeUInt32LE(fields[i].length, at + 9 + 4 * i)
    at += OUTCOME_HEADER
    for (const f of fields) at += f.copy(out, at)
  }
  return out.buffer as ArrayBuffer
}

const TAG_BYTES = 16

export function decodeOutcomes (buffer: ArrayBuffer): BatchAnswer {
  const b = Buffer.from(buffer)
  const outcomes: HsmOpOutcome[] = []
  const hsmMicros: number[] = []
  const ids: number[] = []
  let at = ANSWER_HEADER
  for (let n = b.readUInt32LE(0); n > 0; n--) {
    ids.push(b.readUInt32LE(at))
    const kind = b[at + 4] as OutcomeKind
    hsmMicros.push(b.readUInt32LE(at + 5))
    const lengths = [0, 1, 2].map(i => b.readUInt32LE(at + 9 + 4 * i))
    at += OUTCOME_HEADER
    const [a, iv, digest] = lengths.map(length => { const view = b.subarray(at, at + length); at += length; return view })
    switch (kind) {
      case OutcomeKind.Encrypted: {
        const value: EncryptResult = { ciphertext: a.subarray(0, a.length - TAG_BYTES), tag: a.subarray(a.length - TAG_BYTES), iv }
        if (digest.length > 0) value.integrityDigest = digest
        outcomes.push({ ok: true, value })
        break
      }
      case OutcomeKind.Decrypted: outcomes.push({ ok: true, value: { plaintext: a } }); break
      case OutcomeKind.Json: outcomes.push({ ok: true, value: JSON.parse(a.toString('utf8')) as KeyAttributes | TokenInfo }); break
      case OutcomeKind.Failed: outcomes.push({ ok: false, failure: JSON.parse(a.toString('utf8')) as HsmFailure }); break
    }
  }
  return { ids, outcomes, hsmMicros }
}
