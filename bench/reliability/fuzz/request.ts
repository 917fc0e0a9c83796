import crypto from 'node:crypto'
import { amzDate, type Signer } from '../../sign'

/** An HTTP/1.1 request as a list of parts the mutators may change before it is written out. */
export interface RawRequest {
  method: string
  path: string
  version: string
  headers: Array<[string, string]>
  body: Buffer
}

/** A correctly signed XKS request for `body` (SigV4, SignedHeaders host;x-amz-date, as KMS signs). */
export function signedRequest (signer: Signer, host: string, path: string, body: Buffer, dateMs = Date.now()): RawRequest {
  const date = amzDate(dateMs)
  const signature = signer.sign(path, host, date, crypto.createHash('sha256').update(body).digest('hex'))
  return {
    method: 'POST',
    path,
    version: 'HTTP/1.1',
    headers: [
      ['Host', host],
      ['X-Amz-Date', date],
      ['Authorization', signer.authorizationPrefix(date) + signature],
      ['Content-Type', 'application/json'],
      ['Content-Length', String(body.length)],
    ],
    body,
  }
}

export function serialize (r: RawRequest): Buffer {
  const head = `${r.method} ${r.path} ${r.version}\r\n` + r.headers.map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n'
  return Buffer.concat([Buffer.from(head, 'latin1'), r.body])
}

export const header = (r: RawRequest, name: string): string | undefined =>
  r.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1]

export function setHeader (r: RawRequest, name: string, value: string | undefined): void {
  r.headers = r.headers.filter(([k]) => k.toLowerCase() !== name.toLowerCase())
  if (value !== undefined) r.headers.push([name, value])
}
