import crypto from 'node:crypto'
import t from 'tap'
import aws4 from 'aws4'
import type { XksHttpRequest } from '../../src/xks/http-types'
import { CompiledSigV4Policy } from '../../src/xks/sigv4'

// aws4 is the reference signer: whatever it signs for the kms-xks-proxy service, the node:crypto verifier must
// accept, and a one-byte change anywhere signed must make it refuse.

const CREDENTIALS = [
  { accessKeyId: 'AKIAI2SFODNN7EXAMPLE', secretAccessKey: 'FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE' },
  { accessKeyId: 'NEXTKEYID2345672345672345', secretAccessKey: 'bmV4dCBzZWNyZXQgZm9yIHJvdGF0aW9uIHRlc3RzIG9ubHkh' },
]
const policy = new CompiledSigV4Policy({ credentials: CREDENTIALS, maxSkewSeconds: 300 })
const REGIONS = ['us-east-1', 'us-east-2', 'eu-west-1', 'ap-southeast-2', 'us-gov-west-1']
const UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._'
const WHITESPACE = [' ', '  ', '\t', ' \t ']

// A fixed seed: a failure names its case and reproduces.
let seed = 0x5eed1234
function random (): number {
  seed = (seed * 1103515245 + 12345) >>> 0
  return seed / 2 ** 32
}
const pick = <T>(items: ArrayLike<T>): T => items[Math.floor(random() * items.length)]
const int = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1))
const word = (min: number, max: number, alphabet = UNRESERVED): string =>
  Array.from({ length: int(min, max) }, () => pick(alphabet)).join('')

/** Paths aws4 leaves as they are (no empty, '.' or '..' segments, unreserved characters): what XKS paths look like. */
function randomPath (): string {
  const segments = Array.from({ length: int(1, 8) }, () => word(1, 12))
  return '/' + segments.filter(s => s !== '.' && s !== '..').join('/')
}

/** A header value with whitespace runs inside and around it, which both sides must collapse the same way. */
function randomValue (): string {
  const words = Array.from({ length: int(1, 4) }, () => word(1, 10, UNRESERVED + '=/+,;:'))
  return (random() < 0.3 ? pick(WHITESPACE) : '') + words.join(pick(WHITESPACE)) + (random() < 0.3 ? pick(WHITESPACE) : '')
}

function randomAmzDate (): string {
  const ms = Date.UTC(2024, 0, 1) + Math.floor(random() * 3 * 365 * 86_400_000)
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
}

interface Case { request: XksHttpRequest, amzDateMs: number }

function signedCase (): Case {
  const credential = pick(CREDENTIALS)
  const amzDate = randomAmzDate()
  const headers: Record<string, string> = { 'X-Amz-Date': amzDate, Host: `${word(3, 10).toLowerCase()}.example.com:${int(1, 65535)}` }
  for (let i = int(0, 5); i > 0; i--) headers[`x-test-${word(1, 8, 'abcdefghijklmnopqrstuvwxyz0123456789').toLowerCase()}`] = randomValue()
  if (random() < 0.7) headers['Content-Type'] = pick(['application/json', 'application/json; charset=utf-8'])
  const body = random() < 0.1 ? '' : crypto.randomBytes(int(1, 12_000)).toString(random() < 0.5 ? 'base64' : 'latin1')
  const signed = aws4.sign({
    method: 'POST', host: headers.Host, path: randomPath(), headers, body, service: 'kms-xks-proxy', region: pick(REGIONS),
  }, credential)
  const lower: Record<string, string> = {}
  for (const [name, value] of Object.entries(signed.headers ?? {})) lower[name.toLowerCase()] = String(value)
  const request: XksHttpRequest = {
    method: 'POST', path: signed.path as string, query: '', headers: lower,
    body: Buffer.from(body, 'utf8'), receivedAt: 0, remoteAddress: '127.0.0.1',
  }
  const amzDateMs = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8),
    +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15))
  return { request, amzDateMs }
}

/** The same request with one signed thing changed by one byte. */
function tampered (request: XksHttpRequest, i: number): XksHttpRequest {
  const choice = i % 3
  if (choice === 0 && request.body.length > 0) {
    const body = Buffer.from(request.body)
    body[i % body.length] ^= 0x01
    return { ...request, body }
  }
  if (choice === 1) return { ...request, path: request.path + 'x' }
  return { ...request, headers: { ...request.headers, host: request.headers.host + '0' } }
}

t.test('every request aws4 signs is accepted; a one-byte change is refused', async t => {
  let accepted = 0
  let refused = 0
  for (let i = 0; i < 1000; i++) {
    const { request, amzDateMs } = signedCase()
    const label = `case ${i}: ${request.path} [${request.headers.authorization?.split('SignedHeaders=')[1]?.split(',')[0]}]`
    try {
      policy.verify(request, amzDateMs + int(-300, 300) * 1000)
      accepted++
    } catch (err) {
      t.fail(`${label}: ${(err as Error).message}`)
    }
    t.throws(() => policy.verify(tampered(request, i), amzDateMs), /Signature does not match/, `${label}: tampered`)
    refused++
  }
  t.equal(accepted, 1000, 'all 1,000 aws4-signed requests verified')
  t.equal(refused, 1000)
})
