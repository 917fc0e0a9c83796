/**
 * `xksgate why` against a real proxy's requests of every kind (issue #20): one serving process in this test's
 * process (so its log is a file the command reads, as journald or a log file would hold it), real TLS on
 * loopback, a real SoftHSM token behind the shaped PKCS#11 module (test/helpers/shaped-hsm.ts) for the HSM's
 * latency and faults. For each answer the printed explanation must name the operation, key store, key and
 * principal, the answer and error name, the step that decided it (and which check, field, statement, reason,
 * backend or CKR), and the advice of docs/troubleshooting.md.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import t, { type Test } from 'tap'
import { validateConfig } from '../../src/config/load'
import { ensureSelfSignedCert } from '../../src/dev/tls-cert'
import { ProcessMetrics } from '../../src/metrics/process-metrics'
import { startXksgate, type RunningXksgate } from '../../src/runtime/xksgate'
import { signXksRequest } from '../../src/selftest/sign'
import { runCli } from '../helpers/cli-run'
import { encryptBody, healthBody, randomB64 } from '../helpers/conformance'
import type { Connection } from '../helpers/dev-server'
import { RawTlsConnection } from '../helpers/raw-http'
import { createShapedHsm, type ShapedControl } from '../helpers/shaped-hsm'
import { createTestToken, type TestToken } from '../helpers/softhsm'
import { until } from '../helpers/until'
import { metadataFor, XksClient, type SendOptions, type XksResponse } from '../helpers/xks-client'

const ACCESS_KEY_ID = 'AKIAI2SFODNN7EXAMPLE'
const SECRET = 'FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE'
const PREFIX = '/payments/kms/xks/v1'
const METERED = '/metered/kms/xks/v1'
const METERED_KEY_ID = 'AKIAI2SFODNN7METERED'
const ALICE = 'arn:aws:iam::123456789012:user/Alice'
const MALLORY = 'arn:aws:iam::123456789012:user/Mallory'
/** Wide for a loaded 2-core host: the cases below make their own lateness and timeouts. */
const REQUEST_TIMEOUT_MS = 4000
const HSM_TIMEOUT_MS = 1500
const MAX_IN_FLIGHT = 24

let token: TestToken
let dir: string
let logFile: string
let shaped: { modulePath: string, control: ShapedControl }
let server: RunningXksgate
let client: XksClient
let connection: Connection

t.before(async () => {
  token = await createTestToken()
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-why-'))
  shaped = createShapedHsm(path.join(dir, 'shaped'))
  logFile = path.join(dir, 'requests.log')
  const { certFile, keyFile } = ensureSelfSignedCert(path.join(dir, 'tls'))
  const credentials = [{ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET }]
  const config = validateConfig({
    server: { host: '127.0.0.1', port: 0, tls: { certFile, keyFile }, requestTimeoutMs: REQUEST_TIMEOUT_MS, maxInFlight: MAX_IN_FLIGHT },
    hsm: [{ name: 'hsm-shaped', modulePath: shaped.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, opTimeoutMs: HSM_TIMEOUT_MS, maxSessions: 1, environment: { SOFTHSM2_CONF: token.confPath } }],
    health: { keyLabel: 'health', degradedLatencyMs: 5000 },
    metrics: { port: null },
    shutdown: { lingerMs: 0 },
    keyStores: [
      {
        name: 'payments', uriPrefix: PREFIX, credentials, keys: { foo: { label: 'foo' } }, allowedRegions: ['us-east-1'],
        policy: { Version: '1', Statement: [{ Sid: 'DenyMallory', Effect: 'Deny', Principal: MALLORY }, { Sid: 'AllowOthers', Effect: 'Allow' }] },
      },
      { name: 'metered', uriPrefix: METERED, credentials: [{ accessKeyId: METERED_KEY_ID, secretAccessKey: SECRET }], keys: { foo: { label: 'enc-only' } }, quota: { rate: 0.01, burst: 1 } },
    ],
  }, { baseDir: dir, env: {} })
  const log = pino({ level: 'info' }, pino.destination({ dest: logFile, sync: true }))
  server = await startXksgate(config, log, { metrics: new ProcessMetrics(), worker: 0 })
  connection = {
    endpoint: `https://127.0.0.1:${server.port}`, uriPrefix: PREFIX, region: 'us-east-1', accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET,
    keys: { encryptDecrypt: 'foo', encryptOnly: 'foo', decryptOnly: 'foo', impotent: 'foo' }, caFile: certFile,
  }
  client = new XksClient(connection, 64)
})

t.teardown(async () => {
  client?.close()
  await server?.close(0)
  shaped?.control.close()
  token?.cleanup()
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
})

/** An Encrypt of `foo` as KMS sends it, with its own kmsRequestId. */
function encrypt (overrides: Partial<SendOptions> = {}, principal = ALICE, prefix = PREFIX): { id: string, options: SendOptions } {
  const id = crypto.randomUUID()
  const body = { ...encryptBody({ plaintext: randomB64(32) }), requestMetadata: metadataFor('Encrypt', { kmsRequestId: id, awsPrincipalArn: principal, kmsViaService: 'ebs' }) }
  return { id, options: { path: `${prefix}/keys/foo/encrypt`, body, ...overrides } }
}

const logLines = (): Array<Record<string, unknown>> =>
  fs.readFileSync(logFile, 'utf8').split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>)

/** `xksgate why ID --log FILE`, once the request's line is in the log. */
async function why (id: string): Promise<string> {
  await until(`the log names ${id}`, () => fs.readFileSync(logFile, 'utf8').includes(id))
  const result = await runCli(['why', id, '--log', logFile])
  if (result.status !== 0) throw new Error(`why exited ${result.status}: ${result.stdout}${result.stderr}`)
  return result.stdout
}

/** What every explanation of an Encrypt of `foo` in the payments store names. */
function assertRequest (t: Test, out: string, status: number, errorName?: string, keyStore = 'payments'): void {
  t.match(out, new RegExp(`request\\s+encrypt( for KMS Encrypt)?, key store ${keyStore}, key foo`), 'the operation, key store and key')
  t.match(out, new RegExp(`answer\\s+${status}${errorName === undefined ? '\\n' : ' ' + errorName}`), `the answer: ${status} ${errorName ?? ''}`)
}

t.test('a 200: who asked what, served', async t => {
  const { id, options } = encrypt()
  t.equal((await client.send(options)).status, 200)
  const out = await why(id)
  assertRequest(t, out, 200)
  t.match(out, /caller\s+arn:aws:iam::123456789012:user\/Alice, access key id AKIAI2SFODNN7EXAMPLE/)
  t.match(out, /decided by\s+served: policy statement AllowOthers/)
  t.notMatch(out, /what to do/)
})

t.test('a 401 for each SigV4 reason: the check that failed and what to do', async t => {
  const cases: Array<{ name: string, overrides: Partial<SendOptions>, detail: RegExp, advice: RegExp }> = [
    { name: 'a wrong secret', overrides: { secretAccessKey: 'W'.repeat(44) }, detail: /SigV4: Signature does not match/, advice: /Give KMS the secret the proxy has/ },
    { name: 'an unknown access key id', overrides: { accessKeyId: 'UNKNOWNKEYID234567ABCD' }, detail: /SigV4: Unknown access key id/, advice: /XksProxyAuthenticationCredential/ },
    { name: 'a clock 20 minutes off', overrides: { signedAt: new Date(Date.now() - 20 * 60_000) }, detail: /SigV4: X-Amz-Date is 1\d{3} s away from proxy time/, advice: /Fix the proxy host's clock/ },
    { name: 'a region the key store does not allow', overrides: { region: 'eu-west-1' }, detail: /SigV4: Credential scope region is not allowed/, advice: /allowedRegions/ },
    { name: 'no Authorization header', overrides: { unsigned: true }, detail: /SigV4: Missing Authorization header/, advice: /find the client that sent it/ },
    { name: 'a malformed Authorization header', overrides: { unsigned: true, headers: { Authorization: 'AWS4-HMAC-SHA256 nonsense', 'X-Amz-Date': '20261207T000000Z' } }, detail: /SigV4: Malformed Authorization header/, advice: /find the client that sent it/ },
  ]
  for (const c of cases) {
    const { id, options } = encrypt(c.overrides)
    t.equal((await client.send(options)).status, 401, c.name)
    const out = await why(id)
    assertRequest(t, out, 401, 'AuthenticationFailedException')
    t.match(out, c.detail, `${c.name}: the check`)
    t.match(out, c.advice, `${c.name}: what to do`)
    t.match(out, /unauthenticated: the kmsRequestId is the one the request claims/, `${c.name}: the id is marked unverified`)
  }
  await new Promise(resolve => setTimeout(resolve, 1100)) // a new second: the next cases' refusals get lines of their own
})

t.test('a 401 for a replayed signature: the first attempt served, the repeat refused', async t => {
  const { id, options } = encrypt({ signedAt: new Date() })
  const first = await client.send(options)
  t.equal(first.status, 200)
  t.equal((await client.send(options)).status, 401)
  const out = await why(id)
  t.match(out, /2 record\(s\)/)
  t.match(out, /answer\s+200\n[\s\S]*answer\s+401 AuthenticationFailedException/, 'both attempts, oldest first')
  t.match(out, /decided by\s+replay: This request signature was already used/)
  t.match(out, /a middlebox resending requests/)
})

t.test('a 403 names the policy statement that denied it', async t => {
  const { id, options } = encrypt({}, MALLORY)
  t.equal((await client.send(options)).status, 403)
  const out = await why(id)
  assertRequest(t, out, 403, 'AccessDeniedException')
  t.match(out, /caller\s+arn:aws:iam::123456789012:user\/Mallory/)
  t.match(out, /decided by\s+policy: policy DenyMallory; policy statement DenyMallory/)
  t.match(out, /what to do\s+xksgate policy explain/)
})

t.test('a 400 names the field', async t => {
  const { id, options } = encrypt()
  delete (options.body as Record<string, unknown>).plaintext
  t.equal((await client.send(options)).status, 400)
  const out = await why(id)
  assertRequest(t, out, 400, 'ValidationException')
  t.match(out, /decided by\s+validation: plaintext is required/)
})

t.test('a 429 over the key store quota', async t => {
  const first = encrypt({ accessKeyId: METERED_KEY_ID }, ALICE, METERED)
  t.equal((await client.send(first.options)).status, 200)
  const { id, options } = encrypt({ accessKeyId: METERED_KEY_ID }, ALICE, METERED)
  t.equal((await client.send(options)).status, 429)
  const out = await why(id)
  assertRequest(t, out, 429, 'ThrottlingException', 'metered')
  t.match(out, /decided by\s+admission \(quota\): quota/)
  t.match(out, /what to do\s+Raise rate and burst/)
})

t.test('a 429 for a request that arrived too late to be served in time', async t => {
  const { id, options } = encrypt()
  const body = Buffer.from(JSON.stringify(options.body))
  const raw = await RawTlsConnection.open(connection)
  t.teardown(() => raw.destroy())
  const signed = signXksRequest({ host: `127.0.0.1:${server.port}`, method: 'POST', path: options.path, body, region: 'us-east-1', accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET, signedAt: new Date(), contentType: 'application/json', signContentType: false })
  raw.write(`POST ${options.path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: application/json\r\nX-Amz-Date: ${signed['X-Amz-Date']}\r\nAuthorization: ${signed.Authorization}\r\nContent-Length: ${body.length}\r\n\r\n`)
  // The body more than half the request budget after the head, as behind a saturated event loop.
  await new Promise(resolve => setTimeout(resolve, REQUEST_TIMEOUT_MS / 2 + 300))
  raw.write(body)
  t.equal((await raw.response()).status, 429)
  const out = await why(id)
  assertRequest(t, out, 429, 'ThrottlingException')
  t.match(out, /decided by\s+admission \(deadline\): late/)
  t.match(out, /what to do\s+Look at what delayed it before the proxy/)
})

/** `n` Encrypts at once; their ids by answer status. */
async function burst (n: number): Promise<Map<number, string[]>> {
  // Connections opened first (GetHealthStatus waits for no HSM), so that the Encrypts arrive together.
  await Promise.all(Array.from({ length: n }, async () => await client.send({ path: `${PREFIX}/health`, body: healthBody() })))
  const sent = Array.from({ length: n }, () => encrypt())
  const responses: XksResponse[] = await Promise.all(sent.map(async s => await client.send(s.options)))
  const byStatus = new Map<number, string[]>()
  responses.forEach((r, i) => byStatus.set(r.status, [...byStatus.get(r.status) ?? [], sent[i].id]))
  return byStatus
}

t.test('a 429 with too many requests in flight, and one summed beyond the first of its second', async t => {
  await new Promise(resolve => setTimeout(resolve, 1100))
  shaped.control.set({ latencyMs: 400 })
  t.teardown(() => shaped.control.set({ latencyMs: 0 }))
  const byStatus = await burst(MAX_IN_FLIGHT + 40)
  const shed = byStatus.get(429) ?? []
  t.ok(shed.length > 10, `${shed.length} of ${MAX_IN_FLIGHT + 40} shed`)
  const log = fs.readFileSync(logFile, 'utf8')
  // Some of the 429s may come from the HSM's own queue (Overloaded, the next test's case) after admission.
  const refusedInFlight = new Set(logLines().filter(l => l.unauthenticated === true && l.detail === 'overload').map(l => l.kmsRequestId))
  const explained = shed.find(id => refusedInFlight.has(id))
  const summed = shed.find(id => !log.includes(id))
  t.ok(explained !== undefined && summed !== undefined, 'some with a line of their own, the rest summed')
  const out = await why(explained ?? '')
  assertRequest(t, out, 429, 'ThrottlingException')
  t.match(out, /decided by\s+admission \(in flight\): overload/)
  t.match(out, /what to do\s+Add processes or hosts/)
  // An id refused without a line of its own: the summaries of the period, each explained.
  await until('the shed summary is written', () => /"shed":/.test(fs.readFileSync(logFile, 'utf8')))
  const missing = await runCli(['why', summed ?? '', '--log', logFile, '--since', '2m'])
  t.equal(missing.status, 1)
  t.match(missing.stdout, /is not in/)
  t.match(missing.stdout, /429 ThrottlingException × \d+ overload: admission \(in flight\)[^\n]*\n\s+what to do\s+Add processes or hosts/)
})

t.test('a 429 behind an HSM queue it could not get through in time', async t => {
  await new Promise(resolve => setTimeout(resolve, 1100))
  // One operation at a time (maxSessions 1), 200 ms each: a queue of 20 is 4 s, past the HSM budget.
  shaped.control.set({ latencyMs: 200 })
  t.teardown(() => shaped.control.set({ latencyMs: 0 }))
  let shed: string[] = []
  for (let round = 0; round < 5 && shed.length === 0; round++) shed = (await burst(MAX_IN_FLIGHT - 4)).get(429) ?? []
  t.ok(shed.length > 0, `${shed.length} shed`)
  const log = fs.readFileSync(logFile, 'utf8')
  const out = await why(shed.find(id => log.includes(id)) ?? '')
  t.match(out, /answer\s+429 ThrottlingException/)
  t.match(out, /decided by\s+admission \(HSM backlog\): (hsm backlog|Overloaded)/)
  t.match(out, /xksgate_hsm_operation_duration_seconds/)
})

/**
 * After the cases that queue work at the HSM: until the queue has drained, a request is shed at admission (HSM
 * backlog), and past the first few refusals of a second it gets no line of its own to explain.
 */
async function untilTheHsmServes (): Promise<void> {
  await until('the HSM serves again', async () => (await client.send(encrypt().options)).status === 200, 30_000)
}

t.test('a 500 naming the backend and the CKR the HSM answered', async t => {
  await untilTheHsmServes()
  shaped.control.fault('device-error')
  t.teardown(() => shaped.control.fault('none'))
  const { id, options } = encrypt()
  const response = await client.send(options)
  t.equal(response.status, 500, response.body)
  shaped.control.fault('none')
  const out = await why(id)
  assertRequest(t, out, 500, 'InternalException')
  t.match(out, /decided by\s+HSM: CKR_DEVICE_ERROR \(backend hsm-shaped\)/)
  t.match(out, /what to do\s+Check the HSM and the network to it/)
})

t.test('a 503 naming the backend that did not answer in time', async t => {
  await untilTheHsmServes()
  shaped.control.set({ latencyMs: HSM_TIMEOUT_MS + 1000 })
  t.teardown(() => shaped.control.set({ latencyMs: 0 }))
  const { id, options } = encrypt()
  t.equal((await client.send(options)).status, 503)
  const out = await why(id)
  assertRequest(t, out, 503, 'DependencyTimeoutException')
  t.match(out, /decided by\s+HSM: Timeout \(backend hsm-shaped\)/)
  t.match(out, /what to do\s+Check the HSM's latency and load/)
})
