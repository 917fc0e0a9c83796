/**
 * HTTP/1.1 over a raw TLS socket, for tests of framing the Node client would hide or refuse to send: repeated
 * headers, chunk extensions, HEAD responses on a keep-alive connection. Responses are parsed strictly by RFC 9112
 * §6.3 (a HEAD response has no body whatever its Content-Length), so stray body bytes show up as a broken next
 * response instead of being skipped.
 */
import fs from 'node:fs'
import tls from 'node:tls'
import type { Connection } from './dev-server'
import { clientCertificate } from './xks-client'

export interface RawResponse {
  status: number
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Record<string, string>
  /** The response head exactly as received, status line included. */
  head: string
  body: string
}

export class RawTlsConnection {
  #buffer = Buffer.alloc(0)
  #closed = false
  #wake: () => void = () => {}
  readonly #closedAt: Promise<number>

  private constructor (private readonly socket: tls.TLSSocket) {
    socket.on('data', (d: Buffer) => { this.#buffer = Buffer.concat([this.#buffer, d]); this.#wake() })
    // A server that closes after its answer may reset a socket the client still writes to; the close is what counts.
    socket.on('error', () => {})
    this.#closedAt = new Promise(resolve => socket.once('close', () => { this.#closed = true; this.#wake(); resolve(Date.now()) }))
  }

  static async open (connection: Connection): Promise<RawTlsConnection> {
    const url = new URL(connection.endpoint)
    const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca: fs.readFileSync(connection.caFile), ...clientCertificate(connection) })
    await new Promise<void>((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject) })
    return new RawTlsConnection(socket)
  }

  get isClosed (): boolean {
    return this.#closed
  }

  /** Bytes received and not yet taken by response(). */
  get unread (): string {
    return this.#buffer.toString('latin1')
  }

  /**
   * Waits for the server to close the connection; the time it closed (ms since epoch). The default deadline only
   * guards against a hang (generous for a loaded host); a test of how soon measures the returned time itself.
   */
  async closed (timeoutMs = 30_000): Promise<number> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`still open after ${timeoutMs} ms; received: ${JSON.stringify(this.unread)}`)), timeoutMs)
    })
    try {
      return await Promise.race([this.#closedAt, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  write (data: string | Buffer): void {
    this.socket.write(data)
  }

  /** The next response; `head` when it answers a HEAD request (no body follows the head). */
  async response (options: { head?: boolean, timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (options.timeoutMs ?? 5000)
    for (;;) {
      const parsed = this.#take(options.head === true)
      if (parsed !== undefined) return parsed
      if (this.#closed) throw new Error(`connection closed before a complete response; received: ${JSON.stringify(this.unread)}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no complete response in time; received: ${JSON.stringify(this.unread)}`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, left)
        this.#wake = () => { clearTimeout(timer); resolve() }
      })
    }
  }

  destroy (): void {
    this.socket.destroy()
  }

  #take (head: boolean): RawResponse | undefined {
    const end = this.#buffer.indexOf('\r\n\r\n')
    if (end < 0) return undefined
    const text = this.#buffer.subarray(0, end).toString('latin1')
    const [statusLine, ...lines] = text.split('\r\n')
    const status = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine)
    if (status === null) throw new Error(`not an HTTP/1.1 status line: ${JSON.stringify(statusLine)}`)
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    const length = head ? 0 : Number(headers['content-length'] ?? '0')
    if (this.#buffer.length < end + 4 + length) return undefined
    const body = this.#buffer.subarray(end + 4, end + 4 + length).toString()
    this.#buffer = this.#buffer.subarray(end + 4 + length)
    return { status: Number(status[1]), headers, head: text, body }
  }
}
