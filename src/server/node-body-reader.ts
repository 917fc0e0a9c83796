/**
 * Reads a node:http request body within a size bound and a time bound (the shared BodyDeadlines sweep, as the
 * uWS frontend's BodyReader): a client that has not sent its whole body by `deadline` is disconnected.
 */
import type { IncomingMessage } from 'node:http'
import type { BodyDeadlines } from './body-deadlines'
import type { BodyResult } from './frontend-core'

const TOO_LARGE: BodyResult = { kind: 'too-large' }
const ABORTED: BodyResult = { kind: 'aborted' }
const UNSET = (): void => {}

export class NodeBodyReader {
  readonly deadline: number
  #aborted = false
  #chunks: Buffer[] = []
  #length = 0
  #settled = false
  #resolve: (result: BodyResult) => void = UNSET

  constructor (private readonly req: IncomingMessage, private readonly maxBytes: number, timeoutMs: number,
    private readonly deadlines: BodyDeadlines<NodeBodyReader>) {
    this.deadline = performance.now() + timeoutMs
  }

  read (): Promise<BodyResult> {
    return new Promise(resolve => {
      this.#resolve = resolve
      this.deadlines.add(this)
      const req = this.req
      req.on('data', (chunk: Buffer) => {
        if (this.#settled) return
        this.#length += chunk.byteLength
        if (this.#length > this.maxBytes) {
          this.#settle(TOO_LARGE)
          return
        }
        this.#chunks.push(chunk)
      })
      req.on('end', () => {
        this.#settle({ kind: 'body', body: this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#length) })
      })
      // The connection went away before the body was complete: Node reports it as an error, then 'close'.
      const abort = (): void => {
        if (this.#settled) return
        this.#aborted = true
        this.#settle(ABORTED)
      }
      req.on('error', abort)
      req.on('close', abort)
    })
  }

  /** The client is gone: its answer must not be written. */
  get aborted (): boolean {
    return this.#aborted || this.req.socket.destroyed
  }

  /** Called by the sweep once the deadline has passed with the body still incomplete. */
  expire (): void {
    if (this.#settled) return
    this.#aborted = true
    this.req.socket.destroy()
    this.#settle(ABORTED)
  }

  #settle (result: BodyResult): void {
    if (this.#settled) return
    this.#settled = true
    this.deadlines.delete(this)
    this.#resolve(result)
  }
}
