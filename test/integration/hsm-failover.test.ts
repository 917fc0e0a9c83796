/**
 * Two HSM backends (two SoftHSM tokens holding the same key material) behind one serving process, in this process
 * so that one token can be made to fail for its pool (test/helpers/token-fault.ts). Signed Encrypt → Decrypt pairs
 * run over real TLS while backend B loses its sessions and cannot log in again, then is restored: every request
 * must succeed, GetHealthStatus must go DEGRADED (B's entry UNAVAILABLE) and back to ACTIVE, and the metrics must
 * show that B really failed operations over to A.
 */
import os from 'node:os'
import path from 'node:path'
import fs from 'node:fs'
import pino from 'pino'
import t from 'tap'
import { validateConfig } from '../../src/config/load'
import { ensureSelfSignedCert } from '../../src/dev/tls-cert'
import { ProcessMetrics } from '../../src/metrics/process-metrics'
import { startXksgate, type RunningXksgate } from '../../src/runtime/xksgate'
import { decryptBody, encryptBody, healthBody, randomB64 } from '../helpers/conformance'
import { createTestTokens, type TestTokenPair } from '../helpers/softhsm'
import { TokenFault } from '../helpers/token-fault'
import { until } from '../helpers/until'
import { XksClient } from '../helpers/xks-client'

const ACCESS_KEY_ID = 'AKIAI2SFODNN7EXAMPLE'
const SECRET = 'FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE'
const PREFIX = '/test/kms/xks/v1'
/** Concurrent Encrypt → Decrypt loops. */
const LOOPS = 6

let tokens: TestTokenPair
let dir: string
let server: RunningXksgate
let client: XksClient
let metrics: ProcessMetrics

t.before(async () => {
  tokens = await createTestTokens(2)
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-failover-'))
  const { certFile, keyFile } = ensureSelfSignedCert(path.join(dir, 'tls'))
  const config = validateConfig({
    // A generous budget: this test counts what failover loses, not what a busy 2-core machine delays.
    server: { host: '127.0.0.1', port: 0, tls: { certFile, keyFile }, requestTimeoutMs: 3000 },
    hsm: tokens.tokenLabels.map((tokenLabel, i) => ({
      name: `hsm-${'ab'[i]}`, modulePath: tokens.modulePath, tokenLabel, pin: tokens.pin, opTimeoutMs: 1000,
    })),
    health: { keyLabel: 'health', degradedLatencyMs: 2000 },
    metrics: { port: null },
    shutdown: { lingerMs: 0 },
    keyStores: [{ name: 'test', uriPrefix: PREFIX, credentials: [{ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET }], keys: { foo: { label: 'foo' } } }],
  }, { baseDir: dir, env: {} })
  metrics = new ProcessMetrics()
  server = await startXksgate(config, pino({ level: 'silent' }), { metrics, worker: 0 })
  client = new XksClient({
    endpoint: `https://127.0.0.1:${server.port}`, uriPrefix: PREFIX, region: 'us-east-1', accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET, keys: { encryptDecrypt: 'foo', encryptOnly: 'foo', decryptOnly: 'foo', impotent: 'foo' },
    caFile: certFile,
  }, LOOPS + 2)
})

t.teardown(async () => {
  client?.close()
  await server?.close(0)
  tokens?.cleanup()
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
})

async function health (): Promise<{ statuses: string[], entries: Array<Record<string, unknown>> }> {
  const res = await client.send({ path: `${PREFIX}/health`, body: healthBody() })
  const entries = res.json.ekmFleetDetails as Array<Record<string, unknown>>
  return { statuses: entries.map(e => String(e.healthStatus)), entries }
}

async function metricValue (name: string, backend: string): Promise<number> {
  const text = await metrics.registry.getSingleMetricAsString(name)
  const line = text.split('\n').find(l => l.startsWith(`${name}{backend="${backend}"}`))
  return Number(line?.split(' ')[1] ?? NaN)
}

interface Counts { pairs: number, ok: number, failed: Map<string, number> }

/** Encrypt → Decrypt pairs on LOOPS connections until `stop()`; every answer is counted. */
function load (): { stop: () => Promise<Counts> } {
  const counts: Counts = { pairs: 0, ok: 0, failed: new Map() }
  const state = { running: true }
  const fail = (what: string): void => { counts.failed.set(what, (counts.failed.get(what) ?? 0) + 1) }
  const loop = async (): Promise<void> => {
    while (state.running) {
      const plaintext = randomB64(64)
      counts.pairs++
      const enc = await client.send({ path: `${PREFIX}/keys/foo/encrypt`, body: encryptBody({ plaintext }) }).catch(() => undefined)
      if (enc?.status !== 200) { fail(`encrypt ${enc?.status ?? 'no answer'} ${String(enc?.json.errorName ?? '')}`); continue }
      const dec = await client.send({ path: `${PREFIX}/keys/foo/decrypt`, body: decryptBody(enc.json) }).catch(() => undefined)
      if (dec?.status !== 200) { fail(`decrypt ${dec?.status ?? 'no answer'} ${String(dec?.json.errorName ?? '')}`); continue }
      if (dec.json.plaintext === plaintext) counts.ok++
      else fail('decrypted to other bytes')
    }
  }
  const loops = Array.from({ length: LOOPS }, loop)
  return { stop: async () => { state.running = false; await Promise.all(loops); return counts } }
}

t.test('one backend of two fails under load and comes back: no request fails, health goes DEGRADED then ACTIVE', async t => {
  t.same((await health()).statuses, ['ACTIVE', 'ACTIVE'], 'two fleet entries, both ACTIVE')
  const fault = new TokenFault(tokens.modulePath, tokens.tokenLabels[1], tokens.pin)
  t.teardown(() => fault.close())
  const traffic = load()
  await new Promise(resolve => setTimeout(resolve, 500))

  fault.break()
  const brokenAt = Date.now()
  await until('backend B out', async () => (await health()).statuses.join() === 'ACTIVE,UNAVAILABLE')
  const degraded = await health()
  t.equal(degraded.entries[1].healthStatus, 'UNAVAILABLE', `backend B out within ${Date.now() - brokenAt} ms`)
  t.equal(degraded.entries[0].healthStatus, 'ACTIVE', 'backend A still ACTIVE')
  t.not(degraded.entries[0].id, degraded.entries[1].id, 'each entry has its own id')
  // Serve a while with B out: probes keep failing, A carries everything.
  await new Promise(resolve => setTimeout(resolve, 1500))

  fault.restore()
  const restoredAt = Date.now()
  await until('backend B back', async () => (await health()).statuses.join() === 'ACTIVE,ACTIVE')
  const recoveryMs = Date.now() - restoredAt
  await new Promise(resolve => setTimeout(resolve, 500))
  const counts = await traffic.stop()

  t.comment(`failover: ${counts.pairs} Encrypt→Decrypt pairs (${counts.pairs * 2} requests), ${counts.ok} ok, failed ${JSON.stringify(Object.fromEntries(counts.failed))}; B back in ${recoveryMs} ms`)
  t.same(Object.fromEntries(counts.failed), {}, 'no request failed')
  t.equal(counts.ok, counts.pairs)
  t.ok(counts.pairs > 20, `load ran (${counts.pairs} pairs)`)
  t.ok(await metricValue('xksgate_hsm_backend_breaker_opens_total', 'hsm-b') >= 1, 'B\'s breaker opened')
  t.equal(await metricValue('xksgate_hsm_backend_breaker_opens_total', 'hsm-a'), 0, 'A\'s never did')
  const failedOver = await metricValue('xksgate_hsm_backend_failovers_total', 'hsm-b')
  t.ok(failedOver >= 1, `operations that failed on B were retried on A (${failedOver})`)
  t.equal(await metricValue('xksgate_hsm_backend_sessions_open', 'hsm-b'), 1, 'B has its session again')
})
