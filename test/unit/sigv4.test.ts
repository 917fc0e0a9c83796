import fs from 'node:fs'
import { createHash, createHmac } from 'node:crypto'
import t, { type Test } from 'tap'
import { RequestSigner } from 'aws4'
import { vectorPath } from '../helpers/paths'
import { XksError } from '../../src/xks/errors'
import type { XksHttpRequest } from '../../src/xks/http-types'
import { CompiledSigV4Policy, type SigV4Policy, type SigV4Principal } from '../../src/xks/sigv4'

interface BotocoreVector {
  name: string, region: string, path: string, host: string, x_amz_date: string, authorization: string
  body: string, canonical_request: string, signature: string
}
interface CurlCapture { request_line: string, headers_raw: string[], body_b64: string }

const readVectors = <T>(name: string): T[] => JSON.parse(fs.readFileSync(vectorPath(name), 'utf8'))
const botocore = readVectors<BotocoreVector>('botocore_vectors.json')
const curl = readVectors<CurlCapture>('curl_caps.json')

// Credentials the vectors in test/vectors/botocore_vectors.json and curl_caps.json were signed with.
const BOTO = { accessKeyId: 'AKIAI2SFODNN7EXAMPLE', secretAccessKey: 'FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE' }
const CURL = { accessKeyId: 'HGIE2BUAFNDMBCMSQVWLGCEXAMPLE', secretAccessKey: 'VU6W2byoiBrhDqNGbx703oL0syCAmhlQgwNUT123456' }
const NEXT = { accessKeyId: 'NEXTKEYID2345672345672345', secretAccessKey: 'bmV4dCBzZWNyZXQgZm9yIHJvdGF0aW9uIHRlc3RzIG9ubHkh' }
const SECRETS = [BOTO, CURL, NEXT].map(c => c.secretAccessKey)
const policy: SigV4Policy = { credentials: [BOTO], maxSkewSeconds: 300 }
const verifySigV4 = (req: XksHttpRequest, p: SigV4Policy, nowMs: number): SigV4Principal => new CompiledSigV4Policy(p).verify(req, nowMs)

const VECTOR_TIME = Date.UTC(2024, 4, 15, 12, 0, 0) // 20240515T120000Z
const CURL_TIME = Date.UTC(2026, 10, 28, 15, 9, 33) // 20261128T150933Z
const NOW = VECTOR_TIME + 240_000 // the vectors' verifier clock, 12:04:00Z

function botoRequest (v: BotocoreVector): XksHttpRequest {
  return {
    method: 'POST',
    path: v.path,
    query: '',
    // KMS also sends an unsigned Content-Type, which verification must ignore (§B1).
    headers: { host: v.host, 'x-amz-date': v.x_amz_date, authorization: v.authorization, 'content-type': 'application/json' },
    body: Buffer.from(v.body, 'utf8'),
    receivedAt: NOW,
    remoteAddress: '127.0.0.1',
  }
}

function curlRequest (c: CurlCapture): XksHttpRequest {
  const headers: Record<string, string> = {}
  for (const line of c.headers_raw) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  return {
    method: 'POST', path: c.request_line.split(' ')[1], query: '', headers,
    body: Buffer.from(c.body_b64, 'base64'), receivedAt: CURL_TIME, remoteAddress: '127.0.0.1',
  }
}

const encryptVector = botocore.find(v => v.name === 'encrypt') as BotocoreVector
const encrypt = (): XksHttpRequest => botoRequest(encryptVector)
const withHeaders = (req: XksHttpRequest, headers: Record<string, string>): XksHttpRequest =>
  ({ ...req, headers: { ...req.headers, ...headers } })

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex')
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest()

interface SignOptions {
  credential?: typeof BOTO, region?: string, signedHeaders?: string[], service?: string
}

/** An independent signer written from spec docs/xks-spec.md §8.3 (path verbatim, spaces collapsed), used to build cases. */
function canonicalRequest (req: XksHttpRequest, signedHeaders: string[]): string {
  const lines = signedHeaders.map(n => n + ':' + req.headers[n].trim().replace(/ +/g, ' ') + '\n').join('')
  return [req.method, req.path, '', lines, signedHeaders.join(';'), sha256(req.body)].join('\n')
}

function sign (req: XksHttpRequest, options: SignOptions = {}): XksHttpRequest {
  const { credential = BOTO, region = 'us-east-2', signedHeaders = ['host', 'x-amz-date'], service = 'kms-xks-proxy' } = options
  const amzDate = req.headers['x-amz-date']
  const scope = [amzDate.slice(0, 8), region, service, 'aws4_request'].join('/')
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest(req, signedHeaders))].join('\n')
  let key = hmac('AWS4' + credential.secretAccessKey, amzDate.slice(0, 8))
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part)
  const signature = createHmac('sha256', key).update(toSign).digest('hex')
  const authorization = `AWS4-HMAC-SHA256 Credential=${credential.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`
  return withHeaders(req, { authorization })
}

function rejects (t: Test, run: () => unknown, reason: RegExp): void {
  let error: unknown
  try { run() } catch (e) { error = e }
  t.ok(error instanceof XksError, 'throws XksError')
  if (!(error instanceof XksError)) return
  t.equal(error.errorName, 'AuthenticationFailedException')
  t.equal(error.status, 401)
  t.match(error.message, reason)
  t.match(error.message, /^[\x20-\x7e]{1,511}$/, 'printable ASCII, < 512 characters')
  for (const secret of SECRETS) t.notOk(error.message.includes(secret), 'message does not contain a secret')
  t.notMatch(error.message, /[0-9a-f]{64}|Credential=[A-Z]/i, 'message does not echo the Authorization header')
}

const rejectsRequest = (t: Test, req: XksHttpRequest, reason: RegExp, p = policy, now = NOW): void =>
  rejects(t, () => verifySigV4(req, p, now), reason)

t.test('the test signer reproduces the botocore vectors', async t => {
  for (const v of botocore) {
    t.equal(canonicalRequest(botoRequest(v), ['host', 'x-amz-date']), v.canonical_request, v.name)
    t.equal(sign(botoRequest(v), { region: v.region }).headers.authorization, v.authorization, v.name)
  }
})

t.test('accepts every botocore vector (§B1)', async t => {
  for (const v of botocore) {
    t.same(verifySigV4(botoRequest(v), policy, NOW), {
      accessKeyId: BOTO.accessKeyId, region: v.region, signature: v.signature, amzDateMs: VECTOR_TIME,
    }, v.name)
  }
})

t.test('accepts every curl capture (§B2), signed or unsigned content-type', async t => {
  const curlPolicy = { credentials: [CURL], maxSkewSeconds: 300 }
  for (const c of curl) {
    const principal = verifySigV4(curlRequest(c), curlPolicy, CURL_TIME - 60_000)
    t.equal(principal.region, 'us-east-1', c.request_line)
  }
})

t.test('freshness window (§B3)', async t => {
  t.ok(verifySigV4(encrypt(), policy, VECTOR_TIME + 300_000), 'skew exactly +300 s is accepted')
  t.ok(verifySigV4(encrypt(), policy, VECTOR_TIME - 300_000), 'skew exactly -300 s is accepted')
  rejectsRequest(t, encrypt(), /300 s/, policy, VECTOR_TIME + 301_000)
  rejectsRequest(t, encrypt(), /300 s/, policy, VECTOR_TIME - 301_000)
})

t.test('negative cases of §B3', async t => {
  const req = encrypt()
  rejectsRequest(t, { ...req, body: Buffer.concat([req.body, Buffer.from(' ')]) }, /Signature does not match/)
  const wrongSecret = { credentials: [{ ...BOTO, secretAccessKey: BOTO.secretAccessKey + 'x' }], maxSkewSeconds: 300 }
  rejectsRequest(t, req, /Signature does not match/, wrongSecret)
  const unknownKey = req.headers.authorization.replace('Credential=', 'Credential=Invalid')
  rejectsRequest(t, withHeaders(req, { authorization: unknownKey }), /Unknown access key id/)
  rejectsRequest(t, { ...req, path: req.path.replace('/keystores/', '/keystore/') }, /Signature does not match/)
  rejectsRequest(t, withHeaders(req, { host: 'xks.example.com:443' }), /Signature does not match/)
  rejectsRequest(t, sign(req, { service: 'kms' }), /service must be kms-xks-proxy/)
  const otherDay = req.headers.authorization.replace('/20240515/', '/20240514/')
  rejectsRequest(t, withHeaders(req, { authorization: otherDay }), /scope date does not match/)
  const { authorization, ...unsigned } = req.headers
  t.ok(authorization)
  rejectsRequest(t, { ...req, headers: unsigned }, /Missing Authorization header/)
})

t.test('required and listed headers', async t => {
  const req = encrypt()
  const { 'x-amz-date': amzDate, ...noDate } = req.headers
  t.ok(amzDate)
  rejectsRequest(t, { ...req, headers: noDate }, /Missing X-Amz-Date/)
  rejectsRequest(t, sign(req, { signedHeaders: ['x-amz-date'] }), /must include host/)
  rejectsRequest(t, sign(req, { signedHeaders: ['host'] }), /must include x-amz-date/)
  const signedType = sign(req, { signedHeaders: ['content-type', 'host', 'x-amz-date'] })
  const { 'content-type': type, ...noType } = signedType.headers
  t.ok(type)
  rejectsRequest(t, { ...signedType, headers: noType }, /Signed header content-type is missing/)
  // 'constructor' is found on every plain object's prototype; it must still count as absent.
  const ghost = signedType.headers.authorization.replace('content-type;', 'constructor;')
  rejectsRequest(t, withHeaders(req, { authorization: ghost }), /Signed header constructor is missing/)
})

t.test('malformed Authorization headers', async t => {
  const good = encryptVector.authorization
  const cases: Array<[string, RegExp]> = [
    ['Bearer abc', /Malformed Authorization/],
    [good.replace('AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256, '), /Malformed Authorization/],
    [good.replace(/, Signature=.*/, ''), /Malformed Authorization/],
    [good.replace('/aws4_request', '/aws4_request/x'), /Malformed Credential/],
    [good.replace('/aws4_request', '/aws4_req'), /must end in aws4_request/],
    [good.replace('/us-east-2/', '/US EAST/'), /Malformed Authorization/],
    [good.replace('/us-east-2/', '/US-EAST-2/'), /scope region/],
    [good.replace('host;x-amz-date', 'x-amz-date;host'), /sorted and unique/],
    [good.replace('host;x-amz-date', 'host;host;x-amz-date'), /sorted and unique/],
    [good.replace('host;x-amz-date', 'Host;x-amz-date'), /lower-case/],
    [good.slice(0, -1), /64 lower-case hex/],
    [good + '0', /64 lower-case hex/],
    [good.replace(/Signature=(.*)$/, (_, s: string) => 'Signature=' + s.toUpperCase()), /64 lower-case hex/],
  ]
  for (const [authorization, reason] of cases) rejectsRequest(t, withHeaders(encrypt(), { authorization }), reason)
})

t.test('tolerates whitespace around the commas', async t => {
  for (const separator of [',', ' , ', ',\t']) {
    const authorization = encryptVector.authorization.replace(/, /g, separator)
    t.ok(verifySigV4(withHeaders(encrypt(), { authorization }), policy, NOW), JSON.stringify(separator))
  }
})

t.test('X-Amz-Date must be a real yyyymmddThhmmssZ date', async t => {
  for (const amzDate of ['20240515T120000', '2024-05-15T12:00:00Z', '20240230T120000Z', '20240515T240000Z', '20240515T126000Z']) {
    const req = withHeaders(encrypt(), { 'x-amz-date': amzDate })
    rejectsRequest(t, req, /X-Amz-Date/, policy, Date.UTC(2024, 1, 29))
  }
})

t.test('x-amz-content-sha256 must match the body', async t => {
  const req = encrypt()
  const hash = sha256(req.body)
  t.ok(verifySigV4(withHeaders(req, { 'x-amz-content-sha256': hash }), policy, NOW), 'unsigned and matching')
  const signed = sign(withHeaders(req, { 'x-amz-content-sha256': hash }), { signedHeaders: ['host', 'x-amz-content-sha256', 'x-amz-date'] })
  t.ok(verifySigV4(signed, policy, NOW), 'signed and matching')
  rejectsRequest(t, withHeaders(req, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }), /does not match the body/)
  rejectsRequest(t, withHeaders(signed, { 'x-amz-content-sha256': sha256('other') }), /does not match the body/)
})

t.test('rotation: every credential of the key store is accepted', async t => {
  const rotating = { credentials: [BOTO, NEXT], maxSkewSeconds: 300 }
  t.equal(verifySigV4(encrypt(), rotating, NOW).accessKeyId, BOTO.accessKeyId)
  t.equal(verifySigV4(sign(encrypt(), { credential: NEXT }), rotating, NOW).accessKeyId, NEXT.accessKeyId)
  rejectsRequest(t, sign(encrypt(), { credential: NEXT }), /Unknown access key id/)
  // A known key id with another credential's secret.
  const swapped = sign(encrypt(), { credential: { ...NEXT, accessKeyId: BOTO.accessKeyId } })
  rejectsRequest(t, swapped, /Signature does not match/, rotating)
})

t.test('region allow-list', async t => {
  t.ok(verifySigV4(encrypt(), { ...policy, allowedRegions: ['us-west-2', 'us-east-2'] }, NOW))
  rejectsRequest(t, encrypt(), /region is not allowed/, { ...policy, allowedRegions: ['us-west-2'] })
})

t.test('query strings and unsignable paths are refused', async t => {
  rejectsRequest(t, { ...encrypt(), query: 'a=b' }, /query string/)
  rejectsRequest(t, { ...encrypt(), path: 'kms/xks/v1/health' }, /path cannot be signed/)
  rejectsRequest(t, { ...encrypt(), path: '/kms/xks/v1/he alth' }, /path cannot be signed/)
})

// Each case below is one where aws4, used plainly, computes another canonical request than §8.3 (see
// sigv4-signer.ts). The plain aws4 result is shown to differ, then the verifier is shown to accept.
const plainAws4Canonical = (req: XksHttpRequest, headers: Record<string, string>): string =>
  new RequestSigner({ method: req.method, path: req.path, headers, body: req.body, service: 'kms-xks-proxy', region: 'us-east-2' }, BOTO).canonicalString()

t.test('canonical URI is the path as received, not normalised by aws4', async t => {
  for (const path of ['//kms/xks/v1/health', '/p/./kms/xks/v1/health', '/p/x/../kms/xks/v1/health', '/p%41/kms/xks/v1/health', '/p(1):x/kms/xks/v1/health/']) {
    const req = sign({ ...encrypt(), path })
    const host = req.headers.host
    const amzDate = req.headers['x-amz-date']
    t.not(plainAws4Canonical(req, { host, 'x-amz-date': amzDate }).split('\n')[1], path, 'plain aws4 rewrites ' + path)
    t.ok(verifySigV4(req, policy, NOW), 'accepted: ' + path)
    rejectsRequest(t, { ...req, path: path.replace('/kms', '/kms/') }, /Signature does not match/)
  }
})

t.test('headers aws4 drops by default are verified when signed', async t => {
  const headers = { 'user-agent': 'KMS  xks   client', 'x-amzn-trace-id': 'Root=1-abc' }
  const signedHeaders = ['host', 'user-agent', 'x-amz-date', 'x-amzn-trace-id']
  const req = sign(withHeaders(encrypt(), headers), { signedHeaders })
  t.notMatch(plainAws4Canonical(req, req.headers), /user-agent/, 'plain aws4 drops user-agent')
  t.ok(verifySigV4(req, policy, NOW), 'accepted, spaces collapsed')
  rejectsRequest(t, withHeaders(req, { 'user-agent': 'other' }), /Signature does not match/)
})

t.test('a signed Content-Type is not replaced by aws4 defaults', async t => {
  const req = sign(encrypt(), { signedHeaders: ['content-type', 'host', 'x-amz-date'] })
  t.ok(verifySigV4(req, policy, NOW))
  rejectsRequest(t, withHeaders(req, { 'content-type': 'application/x-www-form-urlencoded' }), /Signature does not match/)
})

t.test('compiled policy and policy checks', async t => {
  const compiled = new CompiledSigV4Policy({ credentials: [BOTO, NEXT], maxSkewSeconds: 300 })
  t.equal(compiled.verify(encrypt(), NOW).accessKeyId, BOTO.accessKeyId)
  rejects(t, () => compiled.verify(encrypt(), NOW + 61_000), /max 300 s/)
  t.throws(() => new CompiledSigV4Policy({ credentials: [], maxSkewSeconds: 300 }), /at least one credential/)
  t.throws(() => new CompiledSigV4Policy({ credentials: [BOTO, BOTO], maxSkewSeconds: 300 }), /twice/)
  t.throws(() => new CompiledSigV4Policy({ credentials: [BOTO], maxSkewSeconds: NaN }), /maxSkewSeconds/)
})
