/**
 * The production HTTPS frontend on uWebSockets.js. It only moves bytes: it copies the request head, reads the body
 * within bounds, hands an XksHttpRequest to the transport-neutral handler and writes the response back.
 */
import type { HttpRequest, HttpResponse, us_listen_socket } from '@trufflesuite/uws-js-unofficial'
import type { Logger } from '../log'
import { XksError } from '../xks/errors'
import type { XksHttpRequest, XksHttpResponse } from '../xks/http-types'
import type { XksHandler } from '../xks/pipeline'
import { BodyReader } from './body-reader'
import { writeResponse } from './respond'
import { loadNativeUws } from './uws-native'

/**
 * TLS 1.2 suites of the spec (digest §2). uWS's BoringSSL always offers its fixed TLS 1.3 suite list
 * (TLS_AES_128_GCM_SHA256 included) and has no API to narrow it; TLS 1.0 and 1.1 are refused.
 */
export const TLS12_CIPHERS = 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384'

/** Unauthenticated GET (and HEAD) endpoints for load balancers, e.g. /ping. */
export type Probe = () => XksHttpResponse

export interface UwsFrontendOptions {
  host: string
  port: number
  certFile: string
  keyFile: string
  maxBodyBytes: number
  bodyTimeoutMs: number
  handler: XksHandler
  probes: Readonly<Record<string, Probe>>
  log: Logger
}

export class UwsFrontend {
  #listenSocket: us_listen_socket | undefined
  #inFlight = 0
  #draining = false
  #drained: (() => void) | undefined

  private constructor (private readonly options: UwsFrontendOptions, readonly port: number) {}

  static async listen (options: UwsFrontendOptions): Promise<UwsFrontend> {
    const uws = loadNativeUws()
    const app = uws.SSLApp({ cert_file_name: options.certFile, key_file_name: options.keyFile, ssl_ciphers: TLS12_CIPHERS })
    let frontend: UwsFrontend | undefined
    app.any('/*', (res, req) => frontend?.onRequest(res, req))
    const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
      // Default listen options set SO_REUSEPORT, so every cluster process can listen on the same port.
      app.listen(options.host, options.port, socket => {
        if (socket === false) reject(new Error(`cannot listen on ${options.host}:${options.port}`))
        else resolve(socket)
      })
    })
    frontend = new UwsFrontend(options, uws.us_socket_local_port(listenSocket as never))
    frontend.#listenSocket = listenSocket
    return frontend
  }

  get inFlight (): number {
    return this.#inFlight
  }

  /**
   * Stops accepting connections, tells keep-alive clients to reconnect elsewhere (Connection: close on every
   * further response), and waits up to drainMs for requests in progress.
   */
  async close (drainMs: number): Promise<void> {
    this.#draining = true
    if (this.#listenSocket !== undefined) loadNativeUws().us_listen_socket_close(this.#listenSocket)
    this.#listenSocket = undefined
    if (this.#inFlight === 0) return
    await new Promise<void>(resolve => {
      const timer = setTimeout(resolve, drainMs)
      this.#drained = () => { clearTimeout(timer); resolve() }
    })
  }

  private onRequest (res: HttpResponse, req: HttpRequest): void {
    // The HttpRequest is only valid during this callback: copy what we need now (uWS manual).
    const method = req.getCaseSensitiveMethod()
    const head = method === 'HEAD'
    const path = req.getUrl()
    const probe = this.options.probes[path]
    if (probe !== undefined && (head || method === 'GET')) {
      writeResponse(res, probe(), head, this.#draining)
      return
    }
    const request = copyRequestHead(res, req, method, path)
    const declaredLength = Number(request.headers['content-length'] ?? '0')
    if (declaredLength > this.options.maxBodyBytes) {
      // Answer before reading a byte of the body, and close: the rest of it will never be read.
      writeResponse(res, tooLarge(this.options.maxBodyBytes), head, true)
      return
    }
    this.#inFlight++
    const reader = new BodyReader(res, this.options.maxBodyBytes, this.options.bodyTimeoutMs)
    reader.read().then(async result => {
      if (result.kind === 'aborted') return
      if (result.kind === 'too-large') {
        writeResponse(res, tooLarge(this.options.maxBodyBytes), head, true)
        return
      }
      request.body = result.body
      const response = await this.options.handler(request)
      if (!reader.aborted) writeResponse(res, response, head, this.#draining)
    }).catch((err: unknown) => {
      this.options.log.error({ err }, 'frontend failed to answer a request')
      if (!reader.aborted) writeResponse(res, { status: 500, body: new XksError('InternalException').toBody() }, head, this.#draining)
    }).finally(() => {
      this.#inFlight--
      if (this.#inFlight === 0) this.#drained?.()
    })
  }
}

function copyRequestHead (res: HttpResponse, req: HttpRequest, method: string, path: string): XksHttpRequest {
  const headers: Record<string, string> = {}
  req.forEach((name, value) => {
    // Repeated headers are joined with ',' (RFC 9110 §5.3), which is also how SigV4 canonicalises them.
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`
  })
  return {
    method,
    path,
    query: req.getQuery() ?? '',
    headers,
    body: EMPTY,
    receivedAt: Date.now(),
    remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
  }
}

const EMPTY = Buffer.alloc(0)

function tooLarge (maxBodyBytes: number): XksHttpResponse {
  // The spec's error for a parameter above the implementation's maximum (digest §7.2).
  const error = new XksError('UnsupportedOperationException', `Request body larger than ${maxBodyBytes} bytes.`)
  return { status: error.status, body: error.toBody() }
}
