/**
 * The production HTTPS frontend on uWebSockets.js. It only moves bytes: it copies the request head, checks the
 * framing uWS leaves to it, reads the body within bounds, hands an XksHttpRequest to the transport-neutral handler
 * and writes the response back. What uWS decides about framing before a request reaches this file is listed in
 * README "Behaviour → HTTP framing".
 */
import type { HttpRequest, HttpResponse, us_listen_socket } from '@trufflesuite/uws-js-unofficial'
import type { Logger } from '../log'
import { XksError } from '../xks/errors'
import type { XksHttpRequest, XksHttpResponse } from '../xks/http-types'
import type { XksHandler } from '../xks/pipeline'
import { BodyDeadlines } from './body-deadlines'
import { BodyReader } from './body-reader'
import { writeResponse } from './respond'
import { loadNativeUws } from './uws-native'

/**
 * TLS 1.2 suites of the spec (docs/xks-spec.md §2). uWS's BoringSSL always offers its fixed TLS 1.3 suite list
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

/** Constant answers, built once: the hot path only picks one. */
const INTERNAL_ERROR: XksHttpResponse = errorResponse(new XksError('InternalException'))
/**
 * uWS frames the body by the first Content-Length and keeps every Host line, so a repeated one is refused here
 * (RFC 9112 §6.3: 400 and close, the rest of the stream cannot be trusted; §3.2: 400 for more than one Host).
 */
const REPEATED_CONTENT_LENGTH = errorResponse(new XksError('ValidationException', 'Content-Length must appear once (RFC 9112 section 6.3).'))
const REPEATED_HOST = errorResponse(new XksError('ValidationException', 'Host must appear once (RFC 9112 section 3.2).'))

export class UwsFrontend {
  #listenSocket: us_listen_socket | undefined
  #inFlight = 0
  #draining = false
  #drained: (() => void) | undefined
  readonly #deadlines = new BodyDeadlines<BodyReader>()
  /** The spec's error for a parameter above the implementation's maximum (docs/xks-spec.md §7.2). */
  readonly #tooLarge: XksHttpResponse

  private constructor (private readonly options: UwsFrontendOptions, readonly port: number) {
    this.#tooLarge = errorResponse(new XksError('UnsupportedOperationException', `Request body larger than ${options.maxBodyBytes} bytes.`))
  }

  static async listen (options: UwsFrontendOptions): Promise<UwsFrontend> {
    const uws = loadNativeUws()
    const app = uws.SSLApp({ cert_file_name: options.certFile, key_file_name: options.keyFile, ssl_ciphers: TLS12_CIPHERS })
    let frontend: UwsFrontend | undefined
    app.any('/*', (res, req) => frontend?.onRequest(res, req))
    const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
      // Default listen options set SO_REUSEPORT, so every cluster process can listen on the same port (who may
      // share it is settled before: src/server/port-ownership.ts).
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
    // Framing first, probes included: a misframed GET /ping smuggles whatever follows it just as well.
    const request = copyRequestHead(res, req, method, path)
    if ('status' in request) {
      refuseAfterParsing(res, request, head)
      return
    }
    const probe = this.options.probes[path]
    if (probe !== undefined && (head || method === 'GET')) {
      writeResponse(res, probe(), head, this.#draining)
      return
    }
    // uWS has already refused a Content-Length that is not 1 to 9 digits.
    if (Number(request.headers['content-length'] ?? '0') > this.options.maxBodyBytes) {
      // Answer before reading a byte of the body, and close: the rest of it will never be read.
      writeResponse(res, this.#tooLarge, head, true)
      return
    }
    this.#inFlight++
    const reader = new BodyReader(res, this.options.maxBodyBytes, this.options.bodyTimeoutMs, this.#deadlines)
    reader.read().then(async result => {
      if (result.kind === 'aborted') return
      if (result.kind === 'too-large') {
        writeResponse(res, this.#tooLarge, head, true)
        return
      }
      request.body = result.body
      const response = await this.options.handler(request)
      if (!reader.aborted) writeResponse(res, response, head, this.#draining)
    }).catch((err: unknown) => {
      this.options.log.error({ err }, 'frontend failed to answer a request')
      if (!reader.aborted) writeResponse(res, INTERNAL_ERROR, head, this.#draining)
    }).finally(() => {
      this.#inFlight--
      if (this.#inFlight === 0) this.#drained?.()
    })
  }
}

/** The request head, or the answer to a header that must not repeat. */
function copyRequestHead (res: HttpResponse, req: HttpRequest, method: string, path: string): XksHttpRequest | XksHttpResponse {
  const headers: Record<string, string> = {}
  let repeated: XksHttpResponse | undefined
  req.forEach((name, value) => {
    const previous = headers[name]
    if (previous === undefined) {
      headers[name] = value
      return
    }
    // Other repeated headers are joined with ',' (RFC 9110 §5.3), which is also how SigV4 canonicalises them.
    headers[name] = `${previous},${value}`
    if (name === 'content-length') repeated = REPEATED_CONTENT_LENGTH
    else if (name === 'host') repeated ??= REPEATED_HOST
  })
  if (repeated !== undefined) return repeated
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

/**
 * Answers a framing error, then closes. Not from inside the request handler: uWS goes on to parse the bytes that
 * came with this request as a pipelined request in the same callback, which clears the close flag of a response
 * already written, and serves it (request smuggling). With this response still pending, uWS instead closes the
 * connection as soon as another request starts: no 400 then, but nothing smuggled is served either.
 */
function refuseAfterParsing (res: HttpResponse, response: XksHttpResponse, head: boolean): void {
  let aborted = false
  res.onAborted(() => { aborted = true })
  setImmediate(() => { if (!aborted) writeResponse(res, response, head, true) })
}

function errorResponse (error: XksError): XksHttpResponse {
  return { status: error.status, body: error.toBody() }
}
