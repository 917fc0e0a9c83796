/**
 * The node:tls frontend (`server.frontend: "node"`): node:https, which is a node:tls server with Node's HTTP/1.1
 * parser, under the spec's TLS policy with the TLS 1.3 suites narrowed too, and the only frontend that can do
 * strict mTLS. Every decision about a request is `frontend-core.ts`, shared with the uWS frontend.
 *
 * Node 20's net has no SO_REUSEPORT: several processes share the port through the cluster primary's listening
 * handle (our own cluster, or PM2's cluster mode), never by binding it each (docs/operations.md "PM2").
 */
import https from 'node:https'
import fs from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import tls from 'node:tls'
import { MIN_TLS_VERSION, TLS12_CIPHERS, TLS13_CIPHERSUITES } from '../tls/tls-policy'
import type { XksHttpRequest } from '../xks/http-types'
import { BodyDeadlines } from './body-deadlines'
import type { CertificateFiles, Frontend, FrontendOptions } from './frontend'
import { type Admission, EMPTY_BODY, FrontendCore, REPEATED_CONTENT_LENGTH, addHeader } from './frontend-core'
import { NodeBodyReader } from './node-body-reader'
import { answerClientError, writeNodeResponse } from './node-respond'
import { refuseUnlistedClient } from './node-client-auth'
import type { ClientAuthPolicy } from '../tls/client-auth'

/** Bounds of a connection, as uWS has them: an idle keep-alive connection or a stalled head is closed after 10 s. */
const IDLE_TIMEOUT_MS = 10_000
const HANDSHAKE_TIMEOUT_MS = 10_000
/** Node's default; a head beyond it gets 431 (RFC 6585 §5). */
const MAX_HEADER_BYTES = 16_384
/** How often Node checks its head timeout. */
const TIMEOUT_CHECK_MS = 1000

export class NodeFrontend implements Frontend {
  readonly #deadlines = new BodyDeadlines<NodeBodyReader>()
  readonly #core: FrontendCore
  /** Connections answered with Connection: close: nothing more on them is served (pipelined bytes included). */
  readonly #closing = new WeakSet<Socket>()
  #listening = true

  private constructor (private readonly options: FrontendOptions, private readonly server: https.Server, readonly port: number) {
    this.#core = new FrontendCore(options)
  }

  static async listen (options: FrontendOptions): Promise<NodeFrontend> {
    const clientAuth = options.clientAuth
    const server = https.createServer({
      ...secureContextOptions(options, clientAuth),
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      // Strict mTLS: OpenSSL fails a handshake without a client certificate; Node closes one whose chain does not
      // verify against `ca` right after the handshake; the subject is checked before the HTTP parser sees it.
      ...(clientAuth !== undefined && { requestCert: true, rejectUnauthorized: true }),
      // Our body deadline (server.bodyTimeoutMs) bounds the body; Node's own would answer 408 instead of closing.
      requestTimeout: 0,
      headersTimeout: IDLE_TIMEOUT_MS,
      keepAliveTimeout: IDLE_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
      maxHeaderSize: MAX_HEADER_BYTES,
      // The core refuses a missing or repeated Host with the same JSON 400 on both frontends.
      requireHostHeader: false,
    })
    let frontend: NodeFrontend | undefined
    server.on('request', (req: IncomingMessage, res: ServerResponse) => frontend?.onRequest(req, res))
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => answerClientError(err, socket))
    // A failed handshake (no client certificate, a suite or version outside the policy) is the client's problem.
    server.on('tlsClientError', () => {})
    if (clientAuth !== undefined) refuseUnlistedClient(server, clientAuth, options.log)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host: options.host, port: options.port }, () => { server.off('error', reject); resolve() })
    })
    // Later errors of the listener (e.g. EMFILE on accept) are logged; the connections already open go on.
    server.on('error', (err: Error) => options.log.error({ err }, 'node frontend: listener error'))
    frontend = new NodeFrontend(options, server, (server.address() as AddressInfo).port)
    return frontend
  }

  get inFlight (): number {
    return this.#core.inFlight
  }

  /**
   * node:tls swaps the context new handshakes use (every option of the start again, the CAs of strict mTLS
   * included); connections already open keep the certificate they were accepted with until their clients
   * reconnect, as under the cluster primary. Nothing needs retiring, so the Retirement is not asked for.
   */
  async replaceCertificate (files: CertificateFiles): Promise<void> {
    const clientAuth = this.options.clientAuth
    this.server.setSecureContext(secureContextOptions(files, clientAuth === undefined ? undefined : { ...clientAuth, caPems: files.clientCaPems ?? clientAuth.caPems }))
  }

  async close (drainMs: number): Promise<void> {
    if (this.#listening) {
      this.#listening = false
      // net's close, not http's: http's also drops idle keep-alive connections at once, and the linger
      // (shutdown.lingerMs) is there to answer their next request with Connection: close instead.
      tls.Server.prototype.close.call(this.server)
    }
    await this.#core.drain(drainMs)
  }

  private onRequest (req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket
    if (this.#closing.has(socket)) return
    const raw = req.rawHeaders
    const headers: Record<string, string> = {}
    let repeated: Admission | undefined
    for (let i = 0; i < raw.length; i += 2) {
      const refusal = addHeader(headers, raw[i].toLowerCase(), raw[i + 1])
      if (refusal !== undefined && repeated !== REPEATED_CONTENT_LENGTH) repeated = refusal
    }
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const method = req.method ?? ''
    const head = method === 'HEAD'
    const request: XksHttpRequest = {
      method,
      path: q === -1 ? url : url.slice(0, q),
      query: q === -1 ? '' : url.slice(q + 1),
      headers,
      body: EMPTY_BODY,
      receivedAt: Date.now(),
      remoteAddress: socket.remoteAddress ?? '',
    }
    const write = (response: Parameters<typeof writeNodeResponse>[1], close: boolean): void => {
      if (close) this.#closing.add(socket)
      writeNodeResponse(res, response, head, close)
    }
    const admission = this.#core.admit(request, repeated)
    switch (admission.kind) {
      case 'refuse': case 'too-large': write(admission.response, true); return
      case 'probe': write(admission.response, this.#core.draining); return
    }
    const reader = new NodeBodyReader(req, this.options.maxBodyBytes, this.options.bodyTimeoutMs, this.#deadlines)
    this.#core.serve(request, reader.read(), () => reader.aborted, write)
  }
}

/** The TLS context under the spec's policy (docs/xks-spec.md §2): at the start and for a replaced certificate. */
function secureContextOptions (files: CertificateFiles, clientAuth: ClientAuthPolicy | undefined): tls.SecureContextOptions {
  return {
    cert: fs.readFileSync(files.certFile),
    key: fs.readFileSync(files.keyFile),
    minVersion: MIN_TLS_VERSION,
    // Node hands the TLS_* names to SSL_CTX_set_ciphersuites and the rest to SSL_CTX_set_cipher_list.
    ciphers: `${TLS13_CIPHERSUITES}:${TLS12_CIPHERS}`,
    honorCipherOrder: true,
    ...(clientAuth !== undefined && { ca: clientAuth.caPems }),
  }
}
