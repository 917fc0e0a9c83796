/**
 * A SigV4-signing XKS client for integration tests, over real TLS with keep-alive. It signs with the selftest's
 * aws4-based signer (src/selftest/sign.ts) the way KMS signs (SignedHeaders host;x-amz-date), or the way curl
 * --aws-sigv4 signs for the official test client (content-type;host;x-amz-date, `signContentType`); tests may
 * override the date, credentials, path or body bytes to build negative cases.
 */
import https from 'node:https'
import fs from 'node:fs'
import { signXksRequest } from '../../src/selftest/sign'
import type { Connection } from './dev-server'

export interface XksResponse {
  status: number
  body: string
  json: Record<string, unknown>
  headers: Record<string, string | string[] | undefined>
  /** The request headers as sent (Authorization included), e.g. to check they never reach a log. */
  sentHeaders: Record<string, string>
}

export interface SendOptions {
  method?: string
  /** Path after the endpoint, e.g. `${uriPrefix}/health`. */
  path: string
  /** Object → compact JSON; string/Buffer → sent verbatim. */
  body?: unknown
  /** Override credentials (e.g. a wrong secret). */
  accessKeyId?: string
  secretAccessKey?: string
  /** Sign as of this time instead of now. */
  signedAt?: Date
  region?: string
  headers?: Record<string, string>
  /** Send without any Authorization header. */
  unsigned?: boolean
  /** Also sign Content-Type, as curl --aws-sigv4 does with -H "Content-Type:application/json" (docs/xks-spec.md §8.2). */
  signContentType?: boolean
  /** Close the connection this long after sending, answered or not, as a client that gave up; status 0 if unanswered. */
  abortAfterMs?: number
}

export class XksClient {
  readonly agent: https.Agent
  readonly #ca: Buffer

  constructor (readonly connection: Connection, maxSockets = 64) {
    this.#ca = fs.readFileSync(connection.caFile)
    this.agent = new https.Agent({ keepAlive: true, maxSockets, ca: this.#ca, ...clientCertificate(connection) })
  }

  close (): void {
    this.agent.destroy()
  }

  async send (options: SendOptions): Promise<XksResponse> {
    const url = new URL(this.connection.endpoint)
    const body = toBytes(options.body)
    const headers: Record<string, string> = { 'Content-Type': 'application/json', ...options.headers }
    if (!options.unsigned) {
      Object.assign(headers, signXksRequest({
        host: url.host,
        method: options.method ?? 'POST',
        path: options.path,
        body,
        region: options.region ?? this.connection.region,
        accessKeyId: options.accessKeyId ?? this.connection.accessKeyId,
        secretAccessKey: options.secretAccessKey ?? this.connection.secretAccessKey,
        signedAt: options.signedAt ?? new Date(),
        contentType: headers['Content-Type'],
        signContentType: options.signContentType === true,
      }))
    }
    const sentHeaders = { ...headers, 'Content-Length': String(body.length) }
    return await new Promise((resolve, reject) => {
      const req = https.request({
        host: url.hostname,
        port: url.port,
        path: options.path,
        method: options.method ?? 'POST',
        headers: sentHeaders,
        agent: this.agent,
      }, res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString()
          let json: Record<string, unknown> = {}
          try { json = JSON.parse(text) as Record<string, unknown> } catch { /* non-JSON bodies are asserted by callers */ }
          resolve({ status: res.statusCode ?? 0, body: text, json, headers: res.headers, sentHeaders })
        })
        res.on('error', reject)
      })
      req.on('error', err => { if (!req.destroyed || options.abortAfterMs === undefined) reject(err) })
      if (options.abortAfterMs !== undefined) {
        setTimeout(() => {
          req.destroy()
          resolve({ status: 0, body: '', json: {}, headers: {}, sentHeaders })
        }, options.abortAfterMs)
      }
      req.end(body)
    })
  }
}

/** The client certificate a --mtls server requires, when connection.json names one. */
export function clientCertificate (connection: Connection): { cert?: Buffer, key?: Buffer } {
  if (connection.clientCertFile === undefined || connection.clientKeyFile === undefined) return {}
  return { cert: fs.readFileSync(connection.clientCertFile), key: fs.readFileSync(connection.clientKeyFile) }
}

function toBytes (body: unknown): Buffer {
  if (body === undefined) return Buffer.alloc(0)
  if (Buffer.isBuffer(body)) return body
  if (typeof body === 'string') return Buffer.from(body)
  return Buffer.from(JSON.stringify(body))
}

/** requestMetadata as KMS sends it for each operation. */
export function metadataFor (kmsOperation: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice',
    kmsKeyArn: 'arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab',
    kmsOperation,
    kmsRequestId: crypto.randomUUID(),
    ...extra,
  }
}
