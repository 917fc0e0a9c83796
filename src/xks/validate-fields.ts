/**
 * Field-level checks shared by the request validators (validate.ts). Every error names the field and never
 * echoes its value: the value may be plaintext, which must never reach a log (docs/xks-spec.md §11).
 *
 * A JSON null is treated as an absent field: a required one is then "required", an optional one is skipped.
 * KMS and the test client never send null (docs/xks-spec.md §14); accepting it for optional fields costs nothing.
 */
import { base64Length, decodeBase64 } from './base64'
import { XksError } from './errors'

export type Json = Record<string, unknown>

export function fail (message: string): never {
  throw new XksError('ValidationException', message)
}

export function isAbsent (value: unknown): value is undefined | null {
  return value === undefined || value === null
}

export function isJsonObject (value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function requiredString (value: unknown, field: string): string {
  if (isAbsent(value)) fail(`${field} is required`)
  if (typeof value !== 'string') fail(`${field} must be a string`)
  if (value.length === 0) fail(`${field} must not be empty`)
  return value
}

export function optionalString (value: unknown, field: string): string | undefined {
  if (isAbsent(value)) return undefined
  if (typeof value !== 'string') fail(`${field} must be a string`)
  return value
}

function base64String (value: unknown, field: string): string {
  if (isAbsent(value)) fail(`${field} is required`)
  if (typeof value !== 'string') fail(`${field} must be a string`)
  return value
}

/**
 * A payload field whose maximum is ours to configure: above it the answer is 501 UnsupportedOperationException
 * (docs/xks-spec.md §7.2, §7.4 step 5). The string length is checked first, so an oversized value is never decoded.
 */
export function payloadBytes (value: unknown, field: string, maxBytes: number): Buffer {
  const text = base64String(value, field)
  if (text.length > base64Length(maxBytes)) tooLarge(field, maxBytes)
  const bytes = decodeBase64(text, field)
  if (bytes.length > maxBytes) tooLarge(field, maxBytes) // up to 2 bytes past maxBytes fit the same length
  return bytes
}

function tooLarge (field: string, maxBytes: number): never {
  throw new XksError('UnsupportedOperationException', `${field} is longer than this proxy's maximum of ${maxBytes} bytes`)
}

/**
 * A field whose size the spec fixes (IV, tag, metadata): any other size is malformed input, 400 (docs/xks-spec.md §7.4
 * step 4). `sizeRule` is the error message for a wrong size; the caller checks the exact lengths it allows.
 */
export function boundedBytes (value: unknown, field: string, maxBytes: number, sizeRule: string): Buffer {
  const text = base64String(value, field)
  if (text.length > base64Length(maxBytes)) fail(sizeRule)
  const bytes = decodeBase64(text, field)
  if (bytes.length > maxBytes) fail(sizeRule)
  return bytes
}
