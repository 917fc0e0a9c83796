/**
 * Hedging across HSM backends (`hsm[].hedge`, src/hsm/router.ts), end to end: the real proxy (`npm run dev
 * --backends 2`: two SoftHSM tokens holding the same keys) with each backend behind a shaped module of its own
 * (docs/shaped-hsm.md), signed Encrypt → Decrypt pairs over real TLS. Backend hsm-1 has a long tail (exponential
 * jitter), hsm-2 answers in 1 ms. With hedging on, hsm-1's slow operations are also sent to hsm-2 and hsm-2's
 * answer wins (xksgate_hsm_backend_hedges_total / _won_total count them), every pair still decrypts to what was
 * encrypted, and once hsm-2 is marked down nothing is hedged to it. Without `hedge`, nothing is hedged.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { fetchText } from '../helpers/cluster'
import { ClosedLoop, countStatuses, type Answer } from '../helpers/closed-loop'
import { b64, decryptBody, encryptBody } from '../helpers/conformance'
import { startDevServer } from '../helpers/dev-server'
import { createShapedHsm, type ShapedHsm } from '../helpers/shaped-hsm'
import { until } from '../helpers/until'
import { XksClient } from '../helpers/xks-client'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-hedge-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))

/** Encrypt → Decrypt loops: enough at once that the slower backend keeps a share of the operations. */
const CLIENTS = 16
/** A pair whose Decrypt did not give back the Encrypt's plaintext. */
const WRONG_PLAINTEXT = -1

interface Hedging { slow: ShapedHsm, fast: ShapedHsm, loop: ClosedLoop, metric: (name: string, labels: string) => Promise<number> }

async function twoBackends (t: Test, name: string, hedge: boolean): Promise<Hedging> {
  // hsm-1: 1 ms plus an exponential tail of mean 10 ms: its p95 is near 30 ms, and an operation still waiting
  // then waits 10 ms more on average, longer than hsm-2 usually takes on a loaded host, so the hedge often wins.
  const slow = createShapedHsm(path.join(dir, name, 'hsm-1'), { latencyMs: 1, jitterMs: 10, jitter: 'exponential' })
  const fast = createShapedHsm(path.join(dir, name, 'hsm-2'), { latencyMs: 1 })
  t.teardown(() => { slow.control.close(); fast.control.close() })
  const server = await startDevServer({
    dir: path.join(dir, name, 'dev'),
    args: ['--backends', '2'],
    env: {
      XKSGATE__hsm__0__modulePath: slow.modulePath,
      XKSGATE__hsm__1__modulePath: fast.modulePath,
      ...(hedge && { XKSGATE__hsm__0__hedge: 'true', XKSGATE__hsm__1__hedge: 'true' }),
    },
  })
  t.teardown(server.stop)
  const c = server.connection
  const client = new XksClient(c, CLIENTS)
  t.teardown(() => client.close())
  const keyPath = `${c.uriPrefix}/keys/${c.keys.encryptDecrypt}`
  const loop = new ClosedLoop(async () => {
    const plaintext = b64(crypto.randomBytes(64))
    const encrypted = await client.send({ path: `${keyPath}/encrypt`, body: encryptBody({ plaintext }) })
    if (encrypted.status !== 200) return encrypted.status
    const decrypted = await client.send({ path: `${keyPath}/decrypt`, body: decryptBody(encrypted.json) })
    if (decrypted.status !== 200) return decrypted.status
    return decrypted.json.plaintext === plaintext ? 200 : WRONG_PLAINTEXT
  })
  /** A metric's value from /metrics, by its labels as written there (`backend="hsm-1"`); NaN if absent. */
  const metric = async (metricName: string, labels: string): Promise<number> => {
    const { body } = await fetchText(c.metricsUrl ?? '')
    const line = body.split('\n').find(l => l.startsWith(`${metricName}{${labels}}`))
    return Number(line?.split(' ').pop() ?? NaN)
  }
  return { slow, fast, loop, metric }
}

/**
 * Every pair answered correctly: served and decrypted to its own plaintext, or refused with 429 (admission sheds a
 * request that reached it late on a saturated host; KMS retries it). Never a wrong plaintext, never a 5xx.
 */
function assertCorrect (t: Test, answers: Answer[], what: string): void {
  const counts = countStatuses(answers)
  t.ok((counts[200] ?? 0) > 0 && (counts[200] ?? 0) + (counts[429] ?? 0) === answers.length,
    `${what}: ${JSON.stringify(counts)}; every Decrypt gave back its plaintext`)
}

const HEDGES = 'xksgate_hsm_backend_hedges_total'
const WON = 'xksgate_hsm_backend_hedges_won_total'
const SLOW = 'backend="hsm-1"'

t.test('hedge on: the slow backend\'s tail is also sent to the other backend, and the first answer wins', async t => {
  const { slow, fast, loop, metric } = await twoBackends(t, 'hedged', true)
  // Each backend learns its p95 from 64 answers at least (latency-window.ts).
  await loop.run(CLIENTS, 1500)
  const hedgesBefore = await metric(HEDGES, SLOW)
  const wonBefore = await metric(WON, SLOW)
  // A few hedges a second, of which hsm-2 wins some: on a host so loaded that a second brings none, go on (10 s at most).
  const answers = []
  let hedges = 0
  let won = 0
  for (const started = Date.now(); won === 0 && Date.now() - started < 10_000;) {
    answers.push(...await loop.run(CLIENTS, 1000))
    hedges = await metric(HEDGES, SLOW) - hedgesBefore
    won = await metric(WON, SLOW) - wonBefore
  }
  t.comment(`${answers.length} pairs; hsm-1 hedged ${hedges} operations, hsm-2 answered ${won} of them first`)
  assertCorrect(t, answers, 'pairs')
  t.ok(hedges > 0, `hsm-1's slow operations were hedged (${hedges})`)
  t.ok(won > 0 && won <= hedges, `hsm-2 answered first ${won} times`)
  t.ok(slow.control.counters().ops > 0 && fast.control.counters().ops > 0, 'both backends served')

  // hsm-2 loses AES-GCM: its operations and its deep health check fail, and the router takes it out.
  fast.control.set({ gcmUnsupported: true })
  await loop.run(4, 500)
  await until('hsm-2 marked down', async () => await metric('xksgate_hsm_backend_state', 'backend="hsm-2",state="UNAVAILABLE"') === 1, 20_000)
  const hedgesBeforeDown = await metric(HEDGES, SLOW)
  const whileDown = await loop.run(CLIENTS, 1500)
  hedges = await metric(HEDGES, SLOW) - hedgesBeforeDown
  t.comment(`${whileDown.length} pairs while hsm-2 was down; hsm-1 hedged ${hedges}`)
  assertCorrect(t, whileDown, 'hsm-1 alone')
  t.equal(hedges, 0, 'none of hsm-1\'s slow operations was hedged to the backend marked down')
})

t.test('hedge off (the default): nothing is hedged', async t => {
  const { slow, loop, metric } = await twoBackends(t, 'unhedged', false)
  const answers = await loop.run(CLIENTS, 2500)
  t.comment(`${answers.length} pairs, hsm-1 served ${slow.control.counters().ops} operations`)
  assertCorrect(t, answers, 'pairs')
  t.ok(slow.control.counters().ops > 0, 'the slow backend served its share')
  t.equal(await metric(HEDGES, SLOW), 0, 'hsm-1 hedged nothing')
  t.equal(await metric(HEDGES, 'backend="hsm-2"'), 0, 'hsm-2 hedged nothing')
})
