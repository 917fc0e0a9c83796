import tls from 'node:tls'
import { type ParsedResponse, parseResponse } from './check'

/** One fuzzed request's fate on the wire. */
export type Outcome =
  | { kind: 'answer', response: ParsedResponse }
  | { kind: 'closed' }
  | { kind: 'timeout' }
  | { kind: 'garbage', error: string }

export interface Wire { host: string, port: number }

/** A TLS connection that sends one request at a time and reads the first response to it. */
export class FuzzConnection {
  private socket: tls.TLSSocket | undefined
  private data = Buffer.alloc(0)
  private waiter: (() => void) | undefined
  private closed = false
  /** How long the last send took to write (a body slower than server.bodyTimeoutMs may be cut off). */
  writeMs = 0

  constructor (private readonly wire: Wire) {}

  get usable (): boolean {
    return this.socket !== undefined && !this.closed
  }

  async open (): Promise<void> {
    this.closed = false
    this.data = Buffer.alloc(0)
    const socket = tls.connect({ host: this.wire.host, port: this.wire.port, rejectUnauthorized: false })
    this.socket = socket
    socket.on('data', (d: Buffer) => { this.data = Buffer.concat([this.data, d]); this.waiter?.() })
    socket.on('error', () => {})
    socket.on('close', () => { if (this.socket === socket) { this.closed = true; this.waiter?.() } })
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve)
      socket.once('close', () => reject(new Error('connection refused or reset during the handshake')))
    })
  }

  async send (bytes: Buffer, o: { split: boolean, end: boolean, timeoutMs: number }): Promise<Outcome> {
    const socket = this.socket!
    this.data = Buffer.alloc(0)
    const started = performance.now()
    if (o.split) {
      // One TLS record per piece; the next piece once the event loop has turned.
      for (let at = 0; at < bytes.length; at += 700) {
        socket.write(bytes.subarray(at, at + 700))
        await new Promise(resolve => setImmediate(resolve))
      }
    } else socket.write(bytes)
    this.writeMs = performance.now() - started
    if (o.end) socket.end()
    const deadline = Date.now() + o.timeoutMs
    for (;;) {
      try {
        const response = parseResponse(this.data)
        if (response !== undefined) {
          if (response.headers.connection === 'close') this.close()
          return { kind: 'answer', response }
        }
      } catch (err) {
        this.close()
        return { kind: 'garbage', error: (err as Error).message }
      }
      if (this.closed) return { kind: 'closed' }
      const left = deadline - Date.now()
      if (left <= 0) { this.close(); return { kind: 'timeout' } }
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, left)
        this.waiter = () => { clearTimeout(timer); resolve() }
      })
      this.waiter = undefined
    }
  }

  close (): void {
    this.closed = true
    this.socket?.destroy()
    this.socket = undefined
  }
}
