import { Writable } from 'node:stream'
import aws4 from 'aws4'
import pino from 'pino'
import t from 'tap'
import { Secret } from '../../src/config/secret'
import type { FleetHealth } from '../../src/health/fleet-health'
import type { HsmBackend, HsmOutcome, EncryptResult } from '../../src/hsm/types'
import { MemoryReplayGuard } from '../../src/replay/memory-replay-guard'
import type { ReplayGuard } from '../../src/replay/types'
import { Admission } from '../../src/xks/admission'
import { Authenticator } from '../../src/xks/authenticate'
import type { XksHttpRequest } from '../../src/xks/http-types'
import { buildKeyStores } from '../../src/xks/key-stores'
import { createXksHandler, type XksCoreDeps } from '../../src/xks/pipeline'
import type { RequestLogEntry } from '../../src/xks/request-log'
import { until } from '../helpers/until'

// The pipeline in isolation: real routing, SigV4, replay, validation and operations; only the HSM is a stand-in
// whose timing the test controls (the real one is exercised by the integration tests).
const ACCESS_KEY_ID = 'AKIAI2SFODNN7EXAMPLE'
const SECRET = 'FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE'
const PREFIX = '/ks/kms/xks/v1'

function hsmAnsweringAfter (ms: number): HsmBackend {
  const encrypt = async (): Promise<HsmOutcome<EncryptResult>> => {
    await new Promise(resolve => setTimeout(resolve, ms))
    return { ok: true, value: { ciphertext: Buffer.from('ct'), tag: Buffer.alloc(16), iv: Buffer.alloc(12) } }
  }
  return { encrypt } as unknown as HsmBackend
}

function handlerWith (hsm: HsmBackend, admission = new Admission({ maxInFlight: 8, requestTimeoutMs: 50, hsmTimeoutMs: 1000 }), extra: Partial<XksCoreDeps> = {}) {
  const stores = buildKeyStores([{
    name: 'ks', uriPrefix: PREFIX, credentials: [{ accessKeyId: ACCESS_KEY_ID, secretAccessKey: new Secret(SECRET) }], keys: { foo: { label: 'foo' } },
  }], 300)
  return createXksHandler({
    stores,
    authenticator: new Authenticator(300, new MemoryReplayGuard({ maxEntries: 100 }), 50),
    admission,
    hsm,
    health: { health: {} as FleetHealth, identity: { proxyVendor: 'x', proxyModel: 'y' }, fleetSize: () => 1, maxAgeMs: 60_000 },
    limits: { maxPlaintextBytes: 8192, maxAadBytes: 16384 },
    hsmTimeoutMs: 1000,
    requestTimeoutMs: 50,
    log: pino({ level: 'silent' }),
    ...extra,
  })
}

function signedEncrypt (fields: Record<string, unknown> = { plaintext: 'aGVsbG8=' }): XksHttpRequest {
  const path = `${PREFIX}/keys/foo/encrypt`
  const body = Buffer.from(JSON.stringify({
    requestMetadata: { awsPrincipalArn: 'p', kmsKeyArn: 'k', kmsOperation: 'Encrypt', kmsRequestId: crypto.randomUUID() },
    ...fields,
    encryptionAlgorithm: 'AES_GCM',
  }))
  const amzDate = new Date().toISOString().replace(/[:-]|\.\d{3}/g, '')
  const signed = aws4.sign({
    host: 'xks.example.com', path, method: 'POST', service: 'kms-xks-proxy', region: 'us-east-1', body,
    headers: { 'X-Amz-Date': amzDate }, extraHeadersToIgnore: { 'content-length': true, 'content-type': true },
  } as aws4.Request, { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET })
  return {
    method: 'POST', path, query: '', body, receivedAt: Date.now(), remoteAddress: '127.0.0.1',
    headers: { host: 'xks.example.com', 'x-amz-date': amzDate, authorization: String(signed.headers?.Authorization) },
  }
}

t.test('a request answered within the budget is served', async t => {
  // The first request of the file pays for cold code: past 50 ms on a loaded host (3 files at once, load ~20).
  const budget = { requestTimeoutMs: 10_000 }
  const res = await handlerWith(hsmAnsweringAfter(0), new Admission({ maxInFlight: 8, hsmTimeoutMs: 1000, ...budget }), budget)(signedEncrypt())
  t.equal(res.status, 200)
  t.match(JSON.parse(res.body), { ciphertext: 'Y3Q=', ciphertextMetadata: 'WEcBAQ==' })
})

t.test('a request still unanswered at the budget gets 503 DependencyTimeoutException at the budget', async t => {
  const admission = new Admission({ maxInFlight: 8, requestTimeoutMs: 50, hsmTimeoutMs: 1000 })
  const started = Date.now()
  // The HSM answers long after the budget, so that a loaded host's event-loop stalls cannot blur the two.
  const res = await handlerWith(hsmAnsweringAfter(2000), admission)(signedEncrypt())
  const elapsed = Date.now() - started
  t.equal(res.status, 503)
  t.equal(JSON.parse(res.body).errorName, 'DependencyTimeoutException')
  t.ok(elapsed >= 45 && elapsed < 1500, `answered after ${elapsed} ms, budget 50 ms, long before the HSM's 2 s`)
  t.equal(admission.inFlight, 1, 'the slot stays taken while the HSM still works')
  await until('the work ends', () => admission.inFlight === 0)
  t.pass('and the slot is freed when the work ends')
})

t.test('the budget counts from the arrival of the request head: a request already late is shed with 429', async t => {
  const late = signedEncrypt()
  late.receivedAt -= 40 // 10 ms of the 50 ms budget left when the pipeline sees it: under half
  const res = await handlerWith(hsmAnsweringAfter(0))(late)
  t.equal(res.status, 429)
  t.equal(JSON.parse(res.body).errorName, 'ThrottlingException')
  const inTime = signedEncrypt()
  inTime.receivedAt -= 20 // 30 ms left
  t.equal((await handlerWith(hsmAnsweringAfter(0))(inTime)).status, 200, 'with more than half left it is served')
})

t.test('the audit hook gets the entry of every logged request, a count of every shed one, and every rejection before authentication', async t => {
  const recorded: RequestLogEntry[] = []
  const rejected: RequestLogEntry[] = []
  const observed: number[] = []
  let shed = 0
  const audit = { record: (e: RequestLogEntry) => { recorded.push(e) }, countShed: () => { shed++ }, countRejected: (e: RequestLogEntry) => { rejected.push(e) } }
  const handler = handlerWith(hsmAnsweringAfter(0), new Admission({ maxInFlight: 8, requestTimeoutMs: 50, hsmTimeoutMs: 1000 }), { audit, observe: e => observed.push(e.status) })
  t.equal((await handler(signedEncrypt())).status, 200)
  const late = signedEncrypt()
  late.receivedAt -= 40
  t.equal((await handler(late)).status, 429)
  const signed = signedEncrypt()
  const forged = { ...signed, headers: { ...signed.headers, authorization: signed.headers.authorization!.replace(/Signature=\w{4}/, 'Signature=0000') } }
  t.equal((await handler(forged)).status, 401)
  t.equal((await handler({ ...signedEncrypt(), path: '/nowhere' })).status, 404)
  t.same(recorded.map(e => [e.operation, e.status, e.keyId, e.metadata?.kmsOperation]), [['encrypt', 200, 'foo', 'Encrypt']])
  t.equal(shed, 1)
  t.same(rejected.map(e => [e.status, e.detail, e.accessKeyId]), [[401, 'Signature does not match', ACCESS_KEY_ID], [404, undefined, undefined]])
  t.same(observed, [200, 429, 401, 404], 'the metrics see each one')
})

t.test('the authorization hook: its decision is logged, a denial is 403 naming the statement', async t => {
  const entries: RequestLogEntry[] = []
  const calls: unknown[][] = []
  const deny = handlerWith(hsmAnsweringAfter(0), undefined, {
    authorize: (...args) => { calls.push(args.slice(1)); return { allowed: false, sid: 'NoFoo' } },
    observe: e => entries.push({ ...e }),
  })
  const res = await deny(signedEncrypt())
  t.equal(res.status, 403)
  t.match(JSON.parse(res.body), { errorName: 'AccessDeniedException', errorMessage: /statement NoFoo/ })
  t.match(calls, [['encrypt', 'foo', 'us-east-1', { kmsOperation: 'Encrypt', awsPrincipalArn: 'p' }]], 'operation, key, SigV4 region, metadata')
  t.match(entries, [{ status: 403, policySid: 'NoFoo', detail: 'policy NoFoo' }])
  const allow = handlerWith(hsmAnsweringAfter(0), undefined, { authorize: () => ({ allowed: true, sid: 'Yes' }), observe: e => entries.push({ ...e }) })
  t.equal((await allow(signedEncrypt())).status, 200)
  t.match(entries[1], { status: 200, policySid: 'Yes' })
})

t.test('a request that fails SigV4 gives its quota token back', async t => {
  const admission = new Admission({ maxInFlight: 8, requestTimeoutMs: 50, hsmTimeoutMs: 1000 })
  const refunds: string[] = []
  admission.refund = (_store, operation) => { refunds.push(operation) }
  const signed = signedEncrypt()
  const forged = { ...signed, headers: { ...signed.headers, authorization: signed.headers.authorization!.replace(/Signature=\w{4}/, 'Signature=0000') } }
  t.equal((await handlerWith(hsmAnsweringAfter(0), admission)(forged)).status, 401)
  t.same(refunds, ['encrypt'])
  t.equal((await handlerWith(hsmAnsweringAfter(0), admission)(signedEncrypt())).status, 200)
  t.same(refunds, ['encrypt'], 'a signed request keeps its token')
})

t.test('a repeat while the first is in flight gets a retryable 503, a repeat once it was served a 401: both logged with the access key id and given their quota token back', async t => {
  const admission = new Admission({ maxInFlight: 8, requestTimeoutMs: 1000, hsmTimeoutMs: 1000 })
  const refunds: string[] = []
  admission.refund = (_store, operation) => { refunds.push(operation) }
  const entries: RequestLogEntry[] = []
  const handler = handlerWith(hsmAnsweringAfter(100), admission, { observe: e => entries.push({ ...e }), requestTimeoutMs: 1000 })
  const request = signedEncrypt()
  const first = handler(request)
  const duplicate = await handler({ ...request })
  t.equal(duplicate.status, 503)
  t.match(JSON.parse(duplicate.body), { errorName: 'DependencyTimeoutException', errorMessage: /still being answered/ })
  const served = await first
  t.equal(served.status, 200)
  served.afterWrite?.(true)
  const replay = await handler({ ...request })
  t.equal(replay.status, 401)
  t.match(entries, [
    { status: 503, detail: 'replay: in flight', accessKeyId: ACCESS_KEY_ID },
    { status: 200 },
    { status: 401, detail: /already used/, accessKeyId: ACCESS_KEY_ID },
  ])
  t.same(refunds, ['encrypt', 'encrypt'])
})

t.test('a claim made after its 503 went out (the budget ran out in the replay check) leaves the signature re-presentable', async t => {
  const guard = new MemoryReplayGuard({ maxEntries: 100 })
  let checkDelayMs = 150
  const slowGuard: ReplayGuard = {
    checkAndRecord: async (scope, signature, expiresAtMs) => {
      await new Promise(resolve => setTimeout(resolve, checkDelayMs))
      return guard.checkAndRecord(scope, signature, expiresAtMs)
    },
    settle: (...args) => guard.settle(...args),
    status: () => guard.status(),
    localStats: () => guard.localStats(),
    close: async () => {},
  }
  const handler = handlerWith(hsmAnsweringAfter(0), undefined, { authenticator: new Authenticator(300, slowGuard, 50) })
  const request = signedEncrypt()
  const first = await handler(request)
  t.equal(first.status, 503, 'the budget ran out while the replay check waited')
  first.afterWrite?.(true)
  await new Promise(resolve => setTimeout(resolve, 200))
  checkDelayMs = 0
  const retry = await handler({ ...request, receivedAt: Date.now() })
  t.equal(retry.status, 200, 'presented once more', { body: retry.body })
  retry.afterWrite?.(true)
  t.equal((await handler({ ...request, receivedAt: Date.now() })).status, 401, 'then used')
})

/** A pino logger whose lines are collected as objects. */
function collectingLogger (): { log: pino.Logger, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done() } })
  return { log: pino({ level: 'info' }, stream), lines }
}

const claimedId = (req: XksHttpRequest): string => (JSON.parse(req.body.toString()) as { requestMetadata: { kmsRequestId: string } }).requestMetadata.kmsRequestId

t.test('the first refusals of a second get a line each with the kmsRequestId they claim, marked unauthenticated; the rest are summed', async t => {
  const { log, lines } = collectingLogger()
  // A budget no loaded host exhausts: this checks the log lines, not the deadline.
  const handler = handlerWith(hsmAnsweringAfter(0), new Admission({ maxInFlight: 8, requestTimeoutMs: 60_000, hsmTimeoutMs: 1000 }), { log, requestTimeoutMs: 60_000 })
  const receivedAt = Date.now()
  // The same second of arrival for all twelve, however slowly this host runs them.
  const forged = Array.from({ length: 12 }, () => {
    const signed = signedEncrypt()
    return { ...signed, receivedAt, headers: { ...signed.headers, authorization: signed.headers.authorization!.replace(/Signature=\w{4}/, 'Signature=0000') } }
  })
  for (const req of forged) t.equal((await handler(req)).status, 401)
  handler.flushRejections()
  await until('the lines are written', () => lines.some(l => l.rejected !== undefined))
  const individual = lines.filter(l => l.unauthenticated === true)
  t.same(individual.map(l => l.kmsRequestId), forged.slice(0, 10).map(claimedId), 'the first ten, each with its claimed id')
  t.match(individual[0], { status: 401, errorName: 'AuthenticationFailedException', detail: 'Signature does not match', accessKeyId: ACCESS_KEY_ID, keyStore: 'ks', keyId: 'foo', operation: 'encrypt' })
  t.match(individual[0].msg, /as claimed, unverified/)
  t.match(lines.filter(l => l.rejected !== undefined), [{ rejected: 2, detail: 'Signature does not match' }], 'the other two summed')
})

t.test('a 400 names the invalid field in its log line, never the value, and the kmsRequestId', async t => {
  const entries: RequestLogEntry[] = []
  const handler = handlerWith(hsmAnsweringAfter(0), undefined, { observe: e => entries.push({ ...e }) })
  const missing = signedEncrypt({})
  t.equal((await handler(missing)).status, 400)
  t.equal((await handler(signedEncrypt({ plaintext: 'not base64!' }))).status, 400)
  t.match(entries, [{ errorName: 'ValidationException', detail: 'plaintext is required' }, { errorName: 'ValidationException', detail: 'plaintext is not valid base64' }])
  t.equal(entries[0].metadata?.kmsRequestId, claimedId(missing), 'with the kmsRequestId of its valid requestMetadata')
})
