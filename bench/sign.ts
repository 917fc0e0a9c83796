import crypto from 'node:crypto'

/**
 * SigV4 for the load generator, as KMS signs (docs/xks-spec.md §8.2): SignedHeaders `host;x-amz-date`, service
 * `kms-xks-proxy`. Written on node:crypto rather than aws4 because the client shares two cores with the server:
 * the signing key is derived once per day, the body hash comes from the caller (see wire.ts), so a request
 * costs one small SHA-256 and one HMAC here.
 */

export const SERVICE = 'kms-xks-proxy'

export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
  region: string
}

export class Signer {
  private day = ''
  private signingKey: Buffer = Buffer.alloc(0)
  private scope = ''
  private readonly creds: Credentials

  constructor (creds: Credentials) {
    this.creds = creds
  }

  /** The signature (64 hex digits) of one request; `amzDate` is `yyyymmddThhmmssZ`. */
  sign (path: string, host: string, amzDate: string, bodySha256Hex: string): string {
    const day = amzDate.slice(0, 8)
    if (day !== this.day) this.rollDay(day)
    const canonical = 'POST\n' + path + '\n\nhost:' + host + '\nx-amz-date:' + amzDate + '\n\nhost;x-amz-date\n' +
      bodySha256Hex
    const toSign = 'AWS4-HMAC-SHA256\n' + amzDate + '\n' + this.scope + '\n' + crypto.hash('sha256', canonical, 'hex')
    return crypto.createHmac('sha256', this.signingKey).update(toSign).digest('hex')
  }

  /** The Authorization header up to and including `Signature=`; only the 64 hex digits follow. */
  authorizationPrefix (amzDate: string): string {
    const day = amzDate.slice(0, 8)
    if (day !== this.day) this.rollDay(day)
    return `AWS4-HMAC-SHA256 Credential=${this.creds.accessKeyId}/${this.scope}, SignedHeaders=host;x-amz-date, Signature=`
  }

  private rollDay (day: string): void {
    const hmac = (key: Buffer | string, data: string): Buffer => crypto.createHmac('sha256', key).update(data).digest()
    const kDate = hmac('AWS4' + this.creds.secretAccessKey, day)
    this.signingKey = hmac(hmac(hmac(kDate, this.creds.region), SERVICE), 'aws4_request')
    this.scope = `${day}/${this.creds.region}/${SERVICE}/aws4_request`
    this.day = day
  }
}

/** `yyyymmddThhmmssZ` for a wall-clock time in ms. */
export function amzDate (ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').slice(0, 15) + 'Z'
}
