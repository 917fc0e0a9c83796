/**
 * Reads a uWS request body within a size bound and a time bound. uWS neuters each chunk's ArrayBuffer when the
 * callback returns, so chunks are copied. The time bound (slow-loris guard) is the shared BodyDeadlines sweep: a
 * client that has not sent its whole body by `deadline` is disconnected.
 */
import type { HttpResponse } from '@trufflesuite/uws-js-unofficial'
import type { BodyDeadlines } from './body-deadlines'
import type { BodyResult } from './frontend-core'

const TOO_LARGE: BodyResult = { kind: 'too-large' }
const ABORTED: BodyResult = { kind: 'aborted' }
const UNSET = (): void => {}

export class BodyReader {
  aborted = false
  readonly deadline: number
  #chunks: Buffer[] = []
  #length = 0
  #resolve: (result: BodyResult) => void = UNSET

  constructor (private readonly res: HttpResponse, private readonly maxBytes: number, timeoutMs: number,
    private readonly deadlines: BodyDeadlines<BodyReader>) {
    this.deadline = performance.now() + timeoutMs
  }

  read (): Promise<BodyResult> {
    return new Promise(resolve => {
      this.#resolve = resolve
      this.deadlines.add(this)
      this.res.onAborted(() => {
        this.aborted = true
        this.#settle(ABORTED)
      })
      this.res.onData((chunk, isLast) => {
        if (this.aborted) return
        this.#length += chunk.byteLength
        if (this.#length > this.maxBytes) {
          this.#settle(TOO_LARGE)
          return
        }
        this.#chunks.push(Buffer.from(new Uint8Array(chunk)))
        if (!isLast) return
        this.#settle({ kind: 'body', body: this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#length) })
      })
    })
  }

  /** Called by the sweep once the deadline has passed with the body still incomplete. */
  expire (): void {
    if (this.aborted) return
    this.aborted = true
    this.res.close()
    this.#settle(ABORTED)
  }

  #settle (result: BodyResult): void {
    this.deadlines.delete(this)
    this.#resolve(result)
  }
}
