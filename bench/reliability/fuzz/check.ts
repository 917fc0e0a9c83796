import { XKS_ERRORS } from '../../../src/xks/errors'

/**
 * Whether one answer is spec-shaped (docs/xks-spec.md §7): HTTP/1.1, Content-Type application/json, a compact
 * JSON object body; an error carries only errorName (one of the spec's) and an optional errorMessage under 512
 * printable ASCII characters, with the status the spec gives that name. 5xx other than 501 (a size this proxy
 * does not support) is unexpected for any request a healthy proxy receives.
 */

export interface ParsedResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** The first complete response in `data`, or undefined if it is not all there yet; throws if it is not HTTP. */
export function parseResponse (data: Buffer): ParsedResponse | undefined {
  const end = data.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n')
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine)
  if (m === null) throw new Error(`not an HTTP/1.1 status line: ${JSON.stringify(statusLine.slice(0, 80))}`)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const length = Number(headers['content-length'] ?? 0)
  if (data.length < end + 4 + length) return undefined
  return { status: Number(m[1]), headers, body: data.subarray(end + 4, end + 4 + length).toString('utf8') }
}

/** Why `res` is not spec-shaped, or undefined when it is. */
export function shapeProblem (res: ParsedResponse): string | undefined {
  if (res.status >= 500 && res.status !== 501) return `unexpected ${res.status}`
  if ((res.headers['content-type'] ?? '').split(';')[0].trim() !== 'application/json') return `Content-Type ${res.headers['content-type']}`
  let json: unknown
  try { json = JSON.parse(res.body) } catch { return 'body is not JSON' }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return 'body is not a JSON object'
  if (JSON.stringify(json) !== res.body) return 'body is not compact JSON'
  if (res.status < 400) return undefined
  const { errorName, errorMessage, ...rest } = json as Record<string, unknown>
  if (Object.keys(rest).length > 0) return `error body has ${Object.keys(rest).join(', ')}`
  if (typeof errorName !== 'string' || !(errorName in XKS_ERRORS)) return `errorName ${String(errorName)}`
  const expected = XKS_ERRORS[errorName as keyof typeof XKS_ERRORS].status
  // A non-POST method on an API path: 405 with ValidationException (src/xks/routes.ts).
  if (res.status !== expected && !(res.status === 405 && errorName === 'ValidationException')) return `${errorName} with status ${res.status}`
  if (errorMessage !== undefined && (typeof errorMessage !== 'string' || !/^[\x20-\x7e]{0,511}$/.test(errorMessage))) return 'errorMessage not < 512 printable ASCII'
  return undefined
}

/**
 * Whether `res` is the HTTP parser's own refusal of a head it cannot parse, sent before xksgate sees a request:
 * the @btc-vision uWS build (Node 22 and 24) answers a chunk extension, a malformed or repeated framing header, a
 * missing Host, HTTP/1.0 and too many fields with its own 400, 505 or 431 page, Connection: close and neither
 * Content-Type nor Content-Length (docs/behaviour.md "HTTP framing"). RFC 9112 lets a server answer broken framing
 * so, and then close; only a case with broken framing may be answered this way.
 */
export function parserRefusal (res: ParsedResponse): boolean {
  return [400, 431, 505].includes(res.status) && res.headers.connection === 'close' &&
    !('content-type' in res.headers) && !('content-length' in res.headers)
}
