/**
 * Client-side SigV4 for XKS requests (docs/xks-spec.md §8.2), computed with the aws4 package: a signer written
 * independently of the proxy's own verifier (src/xks/sigv4-signer.ts), so a conformance run against xksgate is
 * not the verifier checking itself. The selftest and the integration tests sign with it.
 *
 * Two ways to sign, as XKS's two known clients do: like KMS (SignedHeaders host;x-amz-date, Content-Type sent
 * unsigned), or like curl --aws-sigv4 with -H "Content-Type:application/json" as the official test client runs it
 * (content-type;host;x-amz-date). aws4 otherwise normalises the path, and signs a Content-Type and Content-Length
 * of its own: all three are switched off here.
 */
import aws4, { type Request as Aws4Request } from 'aws4'

export const XKS_SERVICE = 'kms-xks-proxy'

export interface SigningInput {
  /** host[:port], exactly as the Host header will carry it. */
  host: string
  method: string
  path: string
  body: Buffer
  region: string
  accessKeyId: string
  secretAccessKey: string
  signedAt: Date
  /** The Content-Type header to send, and whether it is signed (curl style). */
  contentType: string
  signContentType: boolean
}

/** `yyyymmddThhmmssZ` (the X-Amz-Date format, one-second resolution). */
export function amzDate (at: Date): string {
  return at.toISOString().replace(/[:-]|\.\d{3}/g, '')
}

/** The X-Amz-Date and Authorization headers of a signed request. */
export function signXksRequest (input: SigningInput): { 'X-Amz-Date': string, Authorization: string } {
  const date = amzDate(input.signedAt)
  const signed = aws4.sign({
    host: input.host,
    path: input.path,
    method: input.method,
    service: XKS_SERVICE,
    region: input.region,
    headers: { 'X-Amz-Date': date, ...(input.signContentType ? { 'Content-Type': input.contentType } : {}) },
    extraHeadersToIgnore: { 'content-length': true, ...(input.signContentType ? {} : { 'content-type': true }) },
    body: input.body,
    doNotEncodePath: true,
  } as Aws4Request, { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey })
  return { 'X-Amz-Date': date, Authorization: String(signed.headers?.Authorization) }
}
