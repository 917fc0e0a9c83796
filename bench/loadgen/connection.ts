import tls from 'node:tls'
import type { ClientCert } from './protocol'

/**
 * A keep-alive HTTP/1.1 client connection over node:tls with one request in flight at a time, and a response
 * parser that only understands what the servers under test send (a status line, Content-Length, no chunking).
 * This is several times cheaper per request than https.request, which matters when the client shares two
 * cores with the server.
 */

export interface ConnOptions {
  host: string
  port: number
  clientCert?: ClientCert
}

export type ResponseHandler = (status: number, err?: Error) => void

const HEAD_END = Buffer.from('\r\n\r\n')

export class Connection {
  /** 'connecting' after a server-side close until the new handshake is done; 'dead' if that failed. */
  state: 'connecting' | 'open' | 'dead' = 'connecting'
  private inFlight = false
  private socket: tls.TLSSocket | undefined
  private pending: Buffer | undefined
  private onResponse: ResponseHandler = () => {}
  private closeAfter = false
  private closed = false
  private readonly opts: ConnOptions

  constructor (opts: ConnOptions) {
    this.opts = opts
  }

  /** Connected and idle: send() may be called. */
  get available (): boolean {
    return this.state === 'open' && !this.inFlight
  }

  open (): Promise<void> {
    this.state = 'connecting'
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: this.opts.host, port: this.opts.port, rejectUnauthorized: false, ...this.opts.clientCert })
      socket.setNoDelay(true)
      socket.once('secureConnect', () => { socket.off('error', reject); this.state = 'open'; resolve() })
      socket.once('error', err => { this.state = 'dead'; reject(err) })
      socket.on('data', chunk => this.onData(chunk))
      socket.on('error', () => {})
      socket.on('close', () => this.onClose(socket))
      this.socket = socket
    })
  }

  send (request: Buffer, onResponse: ResponseHandler): void {
    this.inFlight = true
    this.onResponse = onResponse
    this.socket!.write(request)
  }

  close (): void {
    this.closed = true
    this.socket?.destroy()
  }

  private onData (chunk: Buffer): void {
    const data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk])
    const headEnd = data.indexOf(HEAD_END)
    if (headEnd < 0) { this.pending = data; return }
    const head = data.toString('latin1', 0, headEnd).toLowerCase()
    const lengthAt = head.indexOf('\r\ncontent-length:')
    // parseInt skips the blank after the colon and stops at the CR.
    const length = lengthAt < 0 ? 0 : parseInt(head.slice(lengthAt + 17, lengthAt + 40), 10)
    if (data.length < headEnd + 4 + length) { this.pending = data; return }
    // One request in flight per connection, so anything past this response is a protocol error.
    this.pending = undefined
    this.closeAfter = head.includes('\r\nconnection: close')
    this.finish(parseInt(head.slice(9, 12), 10))
  }

  private finish (status: number, err?: Error): void {
    if (!this.inFlight) return
    this.inFlight = false
    const handler = this.onResponse
    if (this.closeAfter) this.reconnect()
    handler(status, err)
  }

  private onClose (socket: tls.TLSSocket): void {
    if (socket !== this.socket) return
    this.closeAfter = true
    if (this.inFlight) this.finish(0, new Error('connection closed'))
    else this.reconnect()
  }

  /** A server that closes a connection (idle timeout, shedding load) gets a new one. */
  private reconnect (): void {
    this.closeAfter = false
    const old = this.socket
    this.socket = undefined
    old?.destroy()
    if (this.closed) { this.state = 'dead'; return }
    this.open().catch(() => {})
  }
}
