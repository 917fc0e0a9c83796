/**
 * Parsing of the SigV4 inputs KMS sends (spec docs/xks-spec.md §8.2, §8.3): the Authorization header and X-Amz-Date.
 * Pure string checks, no cryptography; every failure is a 401 AuthenticationFailedException (§8.3).
 */
import { XksError } from './errors'

/** The SigV4 service name KMS signs XKS calls with (§8.2). */
export const XKS_SERVICE = 'kms-xks-proxy'

export interface ParsedAuthorization {
  accessKeyId: string
  scopeDate: string
  region: string
  /** Lower-case header names, strictly ascending, always including host and x-amz-date. */
  signedHeaders: string[]
  /** The SignedHeaders value as sent: `signedHeaders` joined with ';' (the parser accepts no other form). */
  signedHeadersList: string
  /** 64 lower-case hex characters. */
  signature: string
}

/**
 * A 401. The reason is both the response's errorMessage (KMS logs it to the customer's CloudWatch) and the log
 * line's detail; `accessKeyId` is the id the request presented, when it got that far, so an operator can tell
 * a stale credential from a stranger. Neither ever contains a secret.
 */
export class AuthenticationFailure extends XksError {
  constructor (reason: string, readonly accessKeyId?: string) {
    super('AuthenticationFailedException', reason, reason)
  }
}

export function authFailure (reason: string, accessKeyId?: string): XksError {
  return new AuthenticationFailure(reason, accessKeyId)
}

// One space after the algorithm (§8.2), whitespace tolerated around the commas, components in the standard order.
// The value classes exclude whitespace and commas, so the match is linear in the header length.
const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^\s,]+)\s*,\s*SignedHeaders=([^\s,]+)\s*,\s*Signature=([^\s,]+)$/
const SCOPE_DATE = /^\d{8}$/
// Region codes are lower-case words joined by '-' (us-east-2, us-gov-west-1). Bounding them keeps attacker-chosen
// regions out of the signing-key cache key and out of logs.
const REGION = /^[a-z0-9-]{1,32}$/
// Header names are restricted to what real signers sign. It also keeps names such as '__proto__' away from the
// plain objects aws4 builds its header list in.
const HEADER_NAME = /^[a-z0-9-]{1,64}$/
const SIGNATURE = /^[0-9a-f]{64}$/
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/

export function parseAuthorization (value: string): ParsedAuthorization {
  const match = AUTHORIZATION.exec(value.trim())
  if (match === null) {
    throw authFailure('Malformed Authorization header: expected "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."')
  }
  const [accessKeyId, scopeDate, region, service, terminator, ...extra] = match[1].split('/')
  if (extra.length > 0 || terminator === undefined || accessKeyId === '') {
    throw authFailure('Malformed Credential: expected <AccessKeyId>/<yyyymmdd>/<region>/kms-xks-proxy/aws4_request')
  }
  if (!SCOPE_DATE.test(scopeDate)) throw authFailure('Malformed credential scope date: expected yyyymmdd')
  if (!REGION.test(region)) throw authFailure('Malformed credential scope region')
  if (service !== XKS_SERVICE) throw authFailure('Credential scope service must be kms-xks-proxy')
  if (terminator !== 'aws4_request') throw authFailure('Credential scope must end in aws4_request')
  if (!SIGNATURE.test(match[3])) throw authFailure('Signature must be 64 lower-case hex characters')
  return { accessKeyId, scopeDate, region, signedHeaders: parseSignedHeaders(match[2]), signedHeadersList: match[2], signature: match[3] }
}

/**
 * SigV4 requires SignedHeaders lower-case, sorted and unique; every real signer sends it that way. Requiring it
 * (rather than re-sorting) means the canonical header block is exactly the list the client signed, in its order.
 */
function parseSignedHeaders (list: string): string[] {
  const names = list.split(';')
  for (let i = 0; i < names.length; i++) {
    if (!HEADER_NAME.test(names[i])) throw authFailure('Malformed SignedHeaders: names must be lower-case [a-z0-9-]')
    if (i > 0 && names[i - 1] >= names[i]) throw authFailure('Malformed SignedHeaders: names must be sorted and unique')
  }
  // §8.2: the signature must cover the target host and the timestamp, or it could be replayed elsewhere or later.
  if (!names.includes('host')) throw authFailure('SignedHeaders must include host')
  if (!names.includes('x-amz-date')) throw authFailure('SignedHeaders must include x-amz-date')
  return names
}

/** Parses `yyyymmddThhmmssZ` into ms since the epoch, rejecting impossible dates (2024-02-30, 25:00:00). */
export function parseAmzDate (value: string): number {
  const m = AMZ_DATE.exec(value)
  if (m === null) throw authFailure('Malformed X-Amz-Date: expected yyyymmddThhmmssZ')
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number)
  const ms = Date.UTC(year, month - 1, day, hour, minute, second)
  // Date.UTC rolls over out-of-range fields (and maps years 0-99 to 19xx), so a real date reads back unchanged.
  const back = new Date(ms)
  const real = back.getUTCFullYear() === year && back.getUTCMonth() === month - 1 && back.getUTCDate() === day &&
    hour < 24 && minute < 60 && second < 60
  if (!real) throw authFailure('X-Amz-Date is not a valid date')
  return ms
}
