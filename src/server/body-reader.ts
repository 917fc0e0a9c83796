/**
 * Reads a uWS request body within a size bound and a time bound. uWS neuters each chunk's ArrayBuffer when the
 * callback returns, so chunks are copied; a slow client is cut off after timeoutMs (slow-loris guard).
 */
import type { HttpResponse } from '@trufflesuite/uws-js-unofficial'

export type BodyResult = { kind: 'body', body: Buffer } | { kind: 'too-large' } | { kind: 'aborted' }

export class BodyReader {
  aborted = false
  #chunks: Buffer[] = []
  #length = 0

  constructor (private readonly res: HttpResponse, private readonly maxBytes: number, private readonly timeoutMs: number) {}

  read (): Promise<BodyResult> {
    return new Promise(resolve => {
      const timer = setTimeout(() => {
        if (this.aborted) return
        this.aborted = true
        this.res.close()
        resolve({ kind: 'aborted' })
      }, this.timeoutMs)
      this.res.onAborted(() => {
        this.aborted = true
        clearTimeout(timer)
        resolve({ kind: 'aborted' })
      })
      this.res.onData((chunk, isLast) => {
        if (this.aborted) return
        this.#length += chunk.byteLength
        if (this.#length > this.maxBytes) {
          clearTimeout(timer)
          resolve({ kind: 'too-large' })
          return
        }
        this.#chunks.push(Buffer.from(new Uint8Array(chunk)))
        if (!isLast) return
        clearTimeout(timer)
        resolve({ kind: 'body', body: this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#length) })
      })
    })
  }
}
