/**
 * The default HTTPS frontend, on uWebSockets.js. It only moves bytes: it copies the request head, reads the body
 * within bounds and writes the response back; what every frontend decides alike is `frontend-core.ts`. What uWS
 * decides about framing before a request reaches this file is listed in README "Behaviour → HTTP framing".
 */
import type { HttpRequest, HttpResponse, us_listen_socket } from '@trufflesuite/uws-js-unofficial'
import type { XksHttpRequest, XksHttpResponse } from '../xks/http-types'
import { TLS12_CIPHERS } from '../tls/tls-policy'
import { BodyDeadlines } from './body-deadlines'
import { BodyReader } from './body-reader'
import type { Frontend, FrontendOptions } from './frontend'
import { type Admission, EMPTY_BODY, FrontendCore, REPEATED_CONTENT_LENGTH, addHeader } from './frontend-core'
import { writeResponse } from './respond'
import { loadNativeUws } from './uws-native'

export class UwsFrontend implements Frontend {
  #listenSocket: us_listen_socket | undefined
  readonly #deadlines = new BodyDeadlines<BodyReader>()
  readonly #core: FrontendCore

  private constructor (private readonly options: FrontendOptions, readonly port: number) {
    this.#core = new FrontendCore(options)
  }

  static async listen (options: FrontendOptions): Promise<UwsFrontend> {
    if (options.clientAuth !== undefined) throw new Error('the uWS frontend cannot check client certificates: use server.frontend "node"')
    const uws = loadNativeUws()
    // BoringSSL always offers its fixed TLS 1.3 suite list (TLS_AES_128_GCM_SHA256 included): uWS cannot narrow it.
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
    return this.#core.inFlight
  }

  async close (drainMs: number): Promise<void> {
    if (this.#listenSocket !== undefined) loadNativeUws().us_listen_socket_close(this.#listenSocket)
    this.#listenSocket = undefined
    await this.#core.drain(drainMs)
  }

  private onRequest (res: HttpResponse, req: HttpRequest): void {
    // The HttpRequest is only valid during this callback: copy what we need now (uWS manual).
    const method = req.getCaseSensitiveMethod()
    const head = method === 'HEAD'
    const headers: Record<string, string> = {}
    let repeated: Admission | undefined
    req.forEach((name, value) => {
      const refusal = addHeader(headers, name, value)
      // A repeated Content-Length outranks a repeated Host: it is the one that breaks the framing.
      if (refusal !== undefined && repeated !== REPEATED_CONTENT_LENGTH) repeated = refusal
    })
    const request: XksHttpRequest = {
      method,
      path: req.getUrl(),
      query: req.getQuery() ?? '',
      headers,
      body: EMPTY_BODY,
      receivedAt: Date.now(),
      remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
    }
    const admission = this.#core.admit(request, repeated)
    switch (admission.kind) {
      case 'refuse': refuseAfterParsing(res, admission.response, head); return
      case 'probe': writeResponse(res, admission.response, head, this.#core.draining); return
      case 'too-large': writeResponse(res, admission.response, head, true); return
    }
    const reader = new BodyReader(res, this.options.maxBodyBytes, this.options.bodyTimeoutMs, this.#deadlines)
    this.#core.serve(request, reader.read(), () => reader.aborted, (response, close) => writeResponse(res, response, head, close))
  }
}

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
