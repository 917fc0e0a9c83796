/**
 * Signed XKS requests over real TLS with keep-alive, for the selftest. Requests are signed at the moment they are
 * sent (or at `signedAt`), like the official test client by default: Content-Type signed too, bodies as given.
 */
import fs from 'node:fs'
import https from 'node:https'
import { signXksRequest } from './sign'
import type { Target } from './target'

/** Every request's own bound: KMS gives up after 250 ms; a selftest waits longer but never forever. */
const REQUEST_TIMEOUT_MS = 10_000

export interface XksReply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  /** The body parsed, or {} when it is not a JSON object (the checks say so). */
  json: Record<string, unknown>
}

export interface RequestSpec {
  path: string
  /** An object is sent as compact JSON; a string verbatim. */
  body: unknown
  method?: string
  signedAt?: Date
  accessKeyId?: string
  secretAccessKey?: string
  /** Sign like KMS (host;x-amz-date only) instead of like curl. */
  kmsStyle?: boolean
}

/** A prepared request: the exact bytes and headers, so it can be sent twice (replay). */
export interface SignedRequest { path: string, method: string, body: Buffer, headers: Record<string, string> }

export class XksSelftestClient {
  readonly #agent: https.Agent
  readonly #host: string
  readonly #url: URL
  /** Every reply so far, in order (the throttling case inspects them all). */
  readonly replies: XksReply[] = []

  /** `maxSockets`: connections at most (a burst of N requests needs N to be N at once at the proxy). */
  constructor (readonly target: Target, maxSockets = 64) {
    this.#url = new URL(target.endpoint)
    this.#host = this.#url.host
    const tls = target.clientTls
    this.#agent = new https.Agent({
      keepAlive: true,
      maxSockets,
      ...(target.caFile !== undefined && { ca: fs.readFileSync(target.caFile) }),
      ...(tls !== undefined && { cert: fs.readFileSync(tls.certFile), key: fs.readFileSync(tls.keyFile) }),
    })
  }

  close (): void {
    this.#agent.destroy()
  }

  sign (spec: RequestSpec): SignedRequest {
    const body = typeof spec.body === 'string' ? Buffer.from(spec.body) : Buffer.from(JSON.stringify(spec.body))
    const method = spec.method ?? 'POST'
    const contentType = 'application/json'
    const auth = signXksRequest({
      host: this.#host,
      method,
      path: spec.path,
      body,
      region: this.target.region,
      accessKeyId: spec.accessKeyId ?? this.target.accessKeyId,
      secretAccessKey: spec.secretAccessKey ?? this.target.secretAccessKey,
      signedAt: spec.signedAt ?? new Date(),
      contentType,
      signContentType: spec.kmsStyle !== true,
    })
    return { path: spec.path, method, body, headers: { 'Content-Type': contentType, ...auth } }
  }

  async send (spec: RequestSpec): Promise<XksReply> {
    return await this.sendSigned(this.sign(spec))
  }

  async sendSigned (req: SignedRequest, options: https.RequestOptions = {}): Promise<XksReply> {
    return await new Promise((resolve, reject) => {
      const outgoing = https.request({
        host: this.#url.hostname,
        port: this.#url.port,
        path: req.path,
        method: req.method,
        headers: { ...req.headers, 'Content-Length': String(req.body.length) },
        agent: this.#agent,
        timeout: REQUEST_TIMEOUT_MS,
        ...options,
      }, res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString()
          const reply = { status: res.statusCode ?? 0, headers: res.headers, body, json: parseObject(body) }
          this.replies.push(reply)
          resolve(reply)
        })
        res.on('error', reject)
      })
      outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)))
      outgoing.on('error', reject)
      outgoing.end(req.body)
    })
  }
}

function parseObject (text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text)
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Record<string, unknown> : {}
  } catch {
    return {}
  }
}
