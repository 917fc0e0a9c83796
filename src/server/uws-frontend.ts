/**
 * The default HTTPS frontend, on uWebSockets.js. It only moves bytes: it copies the request head, reads the body
 * within bounds and writes the response back; what every frontend decides alike is `frontend-core.ts`. What uWS
 * decides about framing before a request reaches this file is listed in docs/behaviour.md "HTTP framing".
 */
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from '@trufflesuite/uws-js-unofficial'
import type { XksHttpRequest, XksHttpResponse } from '../xks/http-types'
import { TLS12_CIPHERS } from '../tls/tls-policy'
import { BodyDeadlines } from './body-deadlines'
import { BodyReader } from './body-reader'
import type { CertificateFiles, Frontend, FrontendOptions, Retirement } from './frontend'
import { type Admission, EMPTY_BODY, FrontendCore, REPEATED_CONTENT_LENGTH, addHeader } from './frontend-core'
import { writeResponse } from './respond'
import { loadNativeUws } from './uws-native'

/** One SSLApp and its listening socket: a certificate replacement opens a second one beside it. */
interface Listener {
  app: TemplatedApp & { close?: () => void }
  socket: us_listen_socket | undefined
  /** Every response on its connections says Connection: close: a newer certificate is being served. */
  retiring: boolean
  /** XKS requests in progress on its connections. */
  open: number
}

/** How often a retiring listener's requests in progress are counted. */
const RETIRE_POLL_MS = 20

export class UwsFrontend implements Frontend {
  #current: Listener | undefined
  #port = 0
  readonly #deadlines = new BodyDeadlines<BodyReader>()
  readonly #core: FrontendCore

  private constructor (private readonly options: FrontendOptions) {
    this.#core = new FrontendCore(options)
  }

  static async listen (options: FrontendOptions): Promise<UwsFrontend> {
    if (options.clientAuth !== undefined) throw new Error('the uWS frontend cannot check client certificates: use server.frontend "node"')
    const frontend = new UwsFrontend(options)
    const listener = await frontend.#open(options, options.port)
    frontend.#current = listener
    frontend.#port = loadNativeUws().us_socket_local_port(listener.socket as never)
    return frontend
  }

  get port (): number {
    return this.#port
  }

  get inFlight (): number {
    return this.#core.inFlight
  }

  /**
   * uWS cannot swap the TLS context of an app, so a second app with the new certificate listens on the same port
   * beside the first (SO_REUSEPORT, as the processes of a cluster share it), and then the first stops accepting:
   * the port is served throughout. The first app's connections are told to reconnect (Connection: close on their
   * next response) for `lingerMs`; after its requests in progress end (at most `drainMs`), the connections still
   * open, idle ones, are closed, as a retiring process's are when it exits.
   */
  async replaceCertificate (files: CertificateFiles, retirement: Retirement): Promise<void> {
    const old = this.#current
    if (old === undefined) throw new Error('the frontend is closed')
    // uWS sets SO_REUSEPORT only on a port it was given: one it picked (port 0) cannot be listened on twice.
    if (this.options.port === 0) throw new Error('/server/port: 0 (a port picked at start) cannot carry a second listener for the new certificate; a restart applies it')
    this.#current = await this.#open(files, this.#port)
    if (old.socket !== undefined) loadNativeUws().us_listen_socket_close(old.socket)
    old.socket = undefined
    old.retiring = true
    void this.#retire(old, retirement)
  }

  async close (drainMs: number): Promise<void> {
    const current = this.#current
    if (current?.socket !== undefined) loadNativeUws().us_listen_socket_close(current.socket)
    if (current !== undefined) current.socket = undefined
    await this.#core.drain(drainMs)
  }

  async #open (files: CertificateFiles, port: number): Promise<Listener> {
    // BoringSSL always offers its fixed TLS 1.3 suite list (TLS_AES_128_GCM_SHA256 included): uWS cannot narrow it.
    const app = loadNativeUws().SSLApp({ cert_file_name: files.certFile, key_file_name: files.keyFile, ssl_ciphers: TLS12_CIPHERS })
    const listener: Listener = { app, socket: undefined, retiring: false, open: 0 }
    app.any('/*', (res, req) => this.onRequest(res, req, listener))
    listener.socket = await new Promise<us_listen_socket>((resolve, reject) => {
      // Default listen options set SO_REUSEPORT, so every cluster process can listen on the same port (who may
      // share it is settled before: src/server/port-ownership.ts).
      app.listen(this.options.host, port, socket => {
        if (socket !== false) {
          resolve(socket)
          return
        }
        // uWS keeps every app it made: one that cannot listen is closed rather than left holding its context.
        listener.app.close?.()
        reject(new Error(`cannot listen on ${this.options.host}:${port}`))
      })
    })
    return listener
  }

  async #retire (listener: Listener, { lingerMs, drainMs }: Retirement): Promise<void> {
    await new Promise(resolve => setTimeout(resolve, lingerMs))
    const deadline = Date.now() + drainMs
    while (listener.open > 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, RETIRE_POLL_MS))
    // Both builds have close() (it closes the app's every socket); the type declarations lack it.
    listener.app.close?.()
  }

  private onRequest (res: HttpResponse, req: HttpRequest, listener: Listener): void {
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
      case 'probe': writeResponse(res, admission.response, head, this.#core.draining || listener.retiring); return
      case 'too-large': writeResponse(res, admission.response, head, true); return
    }
    const reader = new BodyReader(res, this.options.maxBodyBytes, this.options.bodyTimeoutMs, this.#deadlines)
    listener.open++
    void this.#core.serve(request, reader.read(), () => reader.aborted, (response, close) => writeResponse(res, response, head, close || listener.retiring))
      .finally(() => { listener.open-- })
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
