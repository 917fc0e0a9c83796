/**
 * The first refusals of each second get a log line of their own, with the kmsRequestId the request claims, so
 * that `xksgate why` can explain a 401 or a shed 429 by the id KMS reports to its caller. The rest are summed
 * (rejection-summary.ts, request-log.ts ShedLog): anyone who reaches the port can send them, and a line each
 * would let him fill the disk. The bound is per process: at most REFUSALS_LOGGED_PER_SECOND lines a second.
 *
 * The id is unauthenticated: nothing proves the request came from KMS, so its line says so, and the id is taken
 * only when it is a short token of the characters KMS's ids use (UUIDs). It is found by a byte search in the body
 * (which the frontend has read anyway), not by parsing it: the body is a stranger's, and only the sampled
 * refusals pay even that.
 */

export const REFUSALS_LOGGED_PER_SECOND = 10

/** Longer than any KMS request id (a UUID, 36 characters), short enough for a log line. */
const MAX_ID_LENGTH = 128
const ID = /^[A-Za-z0-9._:-]+$/
const KEY = Buffer.from('"kmsRequestId"')
const QUOTE = 0x22
const COLON = 0x3a

/** Says which refusals get a line each: the first `perSecond` of each second of arrival. */
export class RefusalSample {
  #second = -Infinity
  #left = 0

  constructor (private readonly perSecond = REFUSALS_LOGGED_PER_SECOND) {}

  /** `receivedAt`: when the request arrived (ms since the epoch), so no clock is read here. */
  take (receivedAt: number): boolean {
    const second = Math.floor(receivedAt / 1000)
    // A request that arrived in an earlier second but finished late counts against the current one.
    if (second > this.#second) {
      this.#second = second
      this.#left = this.perSecond
    }
    if (this.#left === 0) return false
    this.#left--
    return true
  }
}

/** JSON's insignificant white space (RFC 8259 §2). */
function skipSpace (body: Buffer, i: number): number {
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x09 || body[i] === 0x0a || body[i] === 0x0d)) i++
  return i
}

/**
 * The value of the first `"kmsRequestId": "…"` in `body`, when it is 1 to 128 of [A-Za-z0-9._:-]; otherwise
 * undefined. Unverified: whoever sent the body chose it.
 */
export function claimedKmsRequestId (body: Buffer): string | undefined {
  const at = body.indexOf(KEY)
  if (at < 0) return undefined
  let i = skipSpace(body, at + KEY.length)
  if (body[i] !== COLON) return undefined
  i = skipSpace(body, i + 1)
  if (body[i] !== QUOTE) return undefined
  const start = i + 1
  const end = body.indexOf(QUOTE, start)
  if (end <= start || end - start > MAX_ID_LENGTH) return undefined
  const id = body.toString('latin1', start, end)
  return ID.test(id) ? id : undefined
}
