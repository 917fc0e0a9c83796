/**
 * The selftest's checks: exact values, as KMS reads them (docs/xks-spec.md §5, §7, §14). A failed check throws
 * CheckFailed with what was expected and what came, which becomes the case's one line of output.
 */
import { createHash } from 'node:crypto'
import type { XksReply } from './client'

export class CheckFailed extends Error {}

/** Standard padded base64 (RFC 4648 §4), as the spec requires of every binary field (docs/xks-spec.md §6.6). */
const STANDARD_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

export function check (condition: boolean, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message)
}

const shown = (body: string): string => body.length > 120 ? body.slice(0, 117) + '...' : body

/** Content-Type application/json and a body that is one compact JSON object, byte for byte (docs/xks-spec.md §14). */
export function checkJson (res: XksReply): void {
  const mediaType = String(res.headers['content-type'] ?? '').split(';', 1)[0].trim()
  check(mediaType === 'application/json', `Content-Type is '${mediaType}', not application/json`)
  check(!/[\r\n]/.test(res.body), 'the body spans several lines; KMS and the test client need one line')
  check(Object.keys(res.json).length > 0 || res.body === '{}', `the body is not a JSON object: ${shown(res.body)}`)
  check(JSON.stringify(res.json) === res.body, `the body is not compact JSON: ${shown(res.body)}`)
}

/** An XKS error: this status and errorName, nothing but errorName and errorMessage (< 512 printable ASCII). */
export function checkError (res: XksReply, status: number, errorName: string): void {
  check(res.status === status && res.json.errorName === errorName,
    `expected ${status} ${errorName}, got ${res.status} ${shown(res.body)}`)
  checkJson(res)
  const extra = Object.keys(res.json).filter(k => k !== 'errorName' && k !== 'errorMessage')
  check(extra.length === 0, `an error body has only errorName and errorMessage, this one also ${extra.join(', ')}`)
  const message = res.json.errorMessage
  check(message === undefined || (typeof message === 'string' && /^[\x20-\x7e]{0,511}$/.test(message)),
    'errorMessage is not under 512 printable ASCII characters')
}

/** 200 with exactly these top-level fields. */
export function checkSuccess (res: XksReply, fields: readonly string[]): void {
  check(res.status === 200, `expected 200, got ${res.status} ${shown(res.body)}`)
  checkJson(res)
  const got = Object.keys(res.json).sort()
  const want = [...fields].sort()
  check(got.join() === want.join(), `expected exactly the fields ${want.join(', ')}; got ${got.join(', ')}`)
}

export const fromB64 = (text: unknown): Buffer => Buffer.from(String(text), 'base64')

/** A standard base64 string decoding to one of these byte lengths. */
export function checkB64 (value: unknown, field: string, lengths: readonly number[]): void {
  check(typeof value === 'string' && STANDARD_B64.test(value), `${field} is not standard padded base64`)
  const n = fromB64(value).length
  check(lengths.includes(n), `${field} decodes to ${n} bytes, expected ${lengths.join(' or ')}`)
}

/** CDIV = SHA-256(AAD || CM || IV || ciphertext || tag) over decoded bytes, absent fields empty (docs/xks-spec.md §6.5). */
export function cdivOf (aad: string | undefined, encrypted: Record<string, unknown>): string {
  const hash = createHash('sha256').update(fromB64(aad ?? ''))
  for (const field of ['ciphertextMetadata', 'initializationVector', 'ciphertext', 'authenticationTag']) {
    hash.update(fromB64(encrypted[field] ?? ''))
  }
  return hash.digest('base64')
}
