/**
 * KMS retries a timed-out call once, and a retry made within the same second carries the same signature
 * (docs/operations.md "Replay: retries and repeats"). Over real TLS against the dev proxy, whose SoftHSM C_Encrypt the test
 * slows down at will (test/helpers/slow-module.ts): a request answered with a retryable error, or whose answer
 * never reached the client, may be sent once more byte-identically and is processed; a duplicate while the first
 * is still being answered gets a retryable 503 and is not executed; a repeat of a delivered answer is refused.
 * With the in-process cache (one process, no Redis) and across two processes sharing Redis.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { fixedEncrypt, pinnedClient, TWO_CORE_SIZING } from '../helpers/cluster'
import { startDevServer, type DevServer } from '../helpers/dev-server'
import { startRedis } from '../helpers/redis-server'
import { buildSlowModule } from '../helpers/slow-module'
import { until } from '../helpers/until'
import { XksClient, type XksResponse } from '../helpers/xks-client'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-replay-retry-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
const slow = buildSlowModule(dir)
t.afterEach(() => slow.restore())

// Budgets widened from KMS's (240 ms a request, 200 ms an HSM call) so that the timings below hold on a loaded
// 2-core machine: an encrypt slowed by HSM_SLOW_MS fails its HSM budget; one slowed by SLOW_SUCCESS_MS does not.
const REQUEST_BUDGET_MS = 2000
const HSM_BUDGET_MS = 1000
const HSM_SLOW_MS = 1600
const SLOW_SUCCESS_MS = 600
const budgets = { XKSGATE__server__requestTimeoutMs: String(REQUEST_BUDGET_MS), XKSGATE__hsm__opTimeoutMs: String(HSM_BUDGET_MS) }

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

async function start (args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<DevServer> {
  const server = await startDevServer({ args: ['--softhsm-module', slow.modulePath, ...args], env: { ...slow.env(), ...budgets, ...env } })
  t.teardown(server.stop)
  return server
}

function assertError (t: Test, res: XksResponse, status: number, errorName: string, message?: RegExp): void {
  t.equal(res.status, status, `${status} ${errorName}`, { body: res.body })
  t.equal(res.json.errorName, errorName)
  if (message !== undefined) t.match(res.json.errorMessage, message)
}

t.test('one process, in-process replay cache', async t => {
  const server = await start()
  const client = new XksClient(server.connection)
  t.teardown(() => client.close())

  t.test('answered with a retryable error: the identical request is processed once more, then refused', async t => {
    const request = fixedEncrypt(server.connection)
    slow.slowDown(HSM_SLOW_MS)
    assertError(t, await client.send(request), 503, 'DependencyTimeoutException')
    slow.restore()
    await sleep(HSM_SLOW_MS) // the slowed C_Encrypt still holds its HSM thread until then
    const retry = await client.send(request)
    t.equal(retry.status, 200, 'the retry is processed', { body: retry.body })
    t.type(retry.json.ciphertext, 'string')
    const third = await client.send(request)
    assertError(t, third, 401, 'AuthenticationFailedException', /already used/)
    await until('the 401 logged', () => server.output().includes('already used'))
    const refused = server.output().split('\n').find(l => l.includes('already used'))!
    t.match(JSON.parse(refused), { status: 401, accessKeyId: server.connection.accessKeyId }, 'the replay\'s line names the access key id')
  })

  t.test('a duplicate while the first is in flight: a retryable 503, not executed; the first\'s outcome decides', async t => {
    const request = fixedEncrypt(server.connection)
    slow.slowDown(HSM_SLOW_MS)
    const first = client.send(request)
    await sleep(300)
    const duplicate = await client.send(request)
    assertError(t, duplicate, 503, 'DependencyTimeoutException', /still being answered/)
    assertError(t, await first, 503, 'DependencyTimeoutException')
    slow.restore()
    await sleep(HSM_SLOW_MS)
    t.equal((await client.send(request)).status, 200, 'the first was not served, so the signature may be presented once more')
    assertError(t, await client.send(request), 401, 'AuthenticationFailedException')
  })

  t.test('an answer that never reached the client: the retry is processed', async t => {
    const request = fixedEncrypt(server.connection)
    slow.slowDown(SLOW_SUCCESS_MS)
    const gaveUp = await client.send({ ...request, abortAfterMs: 100 })
    t.equal(gaveUp.status, 0, 'the client closed the connection before the answer')
    slow.restore()
    await sleep(SLOW_SUCCESS_MS + 300)
    const retry = await client.send(request)
    t.equal(retry.status, 200, 'processed', { body: retry.body })
    assertError(t, await client.send(request), 401, 'AuthenticationFailedException')
  })

  t.test('a repeat of a delivered 200 is refused with 401', async t => {
    const request = fixedEncrypt(server.connection)
    t.equal((await client.send(request)).status, 200)
    assertError(t, await client.send(request), 401, 'AuthenticationFailedException', /already used/)
  })
})

/** Keep-alive clients pinned to two different serving processes. */
async function twoProcesses (server: DevServer): Promise<[XksClient, XksClient]> {
  const first = await pinnedClient(server)
  t.teardown(() => first.client.close())
  for (let i = 0; i < 60; i++) {
    const other = await pinnedClient(server)
    t.teardown(() => other.client.close())
    if (other.pid !== first.pid) return [first.client, other.client]
  }
  throw new Error('no connection reached the second process')
}

t.test('two processes sharing Redis', async t => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const server = await start(['--processes', '2', '--redis', redis.url], TWO_CORE_SIZING)
  const [a, b] = await twoProcesses(server)

  t.test('answered 503 on one process: the identical request is processed on the other, once', async t => {
    const request = fixedEncrypt(server.connection)
    slow.slowDown(HSM_SLOW_MS)
    assertError(t, await a.send(request), 503, 'DependencyTimeoutException')
    slow.restore()
    await sleep(HSM_SLOW_MS)
    const retry = await b.send(request)
    t.equal(retry.status, 200, 'processed by the other process', { body: retry.body })
    assertError(t, await a.send(request), 401, 'AuthenticationFailedException')
    assertError(t, await b.send(request), 401, 'AuthenticationFailedException')
  })

  t.test('a repeat of a delivered 200 on the other process: a retryable 503 within the first\'s window, then 401', async t => {
    const request = fixedEncrypt(server.connection)
    const started = Date.now()
    t.equal((await a.send(request)).status, 200)
    assertError(t, await a.send(request), 401, 'AuthenticationFailedException', /already used/)
    const early = await b.send(request)
    // On a machine slow enough to take the whole window over it, the late answer is already the 401.
    if (Date.now() - started < REQUEST_BUDGET_MS + 1000) assertError(t, early, 503, 'DependencyTimeoutException', /still being answered/)
    await sleep(Math.max(0, started + REQUEST_BUDGET_MS + 1000 + 200 - Date.now()))
    assertError(t, await b.send(request), 401, 'AuthenticationFailedException', /already used/)
  })
})
