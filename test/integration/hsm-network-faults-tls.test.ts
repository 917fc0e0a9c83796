/**
 * An HSM across a network failing as appliances do, end to end: the real proxy (`npm run dev`, one process)
 * serves signed Encrypts over real TLS from the shaped module (docs/shaped-hsm.md) in front of SoftHSM, while the
 * test changes the HSM under it through the module's control file:
 * - capped at C concurrent operations (a CloudHSM answering CKR_FUNCTION_FAILED past them): the proxy never has
 *   more than C at the HSM, turns the excess away with a quick 429 ThrottlingException (docs/xks-spec.md §7.2:
 *   "the proxy cannot keep up") and not with 503s;
 * - 1 call in 100 answered busy: no request fails;
 * - every session invalidated at once (an HSM restart, an HA failover): no more requests fail than the HSM had
 *   in flight at that instant, and every request is served again within 1 s.
 * The pool-level cases are in hsm-network-faults.test.ts.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import t, { type Test } from 'tap'
import { ClosedLoop, countStatuses, percentileMs } from '../helpers/closed-loop'
import { b64, encryptBody } from '../helpers/conformance'
import { startDevServer, type DevServer } from '../helpers/dev-server'
import { createShapedHsm, type ShapedHsm, type Shaping } from '../helpers/shaped-hsm'
import { XksClient } from '../helpers/xks-client'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-net-faults-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))

/** The most this process's own event loop may lag (p99) for the capacity case's times to say anything. */
const MAX_STALL_MS = 50

interface Served { shaped: ShapedHsm, server: DevServer, loop: ClosedLoop }

/** A proxy on its own shaped HSM, and a closed loop of signed 4 KiB Encrypts against it. */
async function serve (t: Test, name: string, shaping: Shaping, env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const shaped = createShapedHsm(path.join(dir, name, 'shaped'), shaping)
  t.teardown(() => shaped.control.close())
  const server = await startDevServer({ dir: path.join(dir, name, 'dev'), env: { XKSGATE__hsm__modulePath: shaped.modulePath, ...env } })
  t.teardown(server.stop)
  const c = server.connection
  const client = new XksClient(c, 64)
  t.teardown(() => client.close())
  const plaintext = b64(Buffer.alloc(4096, 7))
  const loop = new ClosedLoop(async () => (await client.send({
    path: `${c.uriPrefix}/keys/${c.keys.encryptDecrypt}/encrypt`, body: encryptBody({ plaintext }),
  })).status)
  return { shaped, server, loop }
}

t.test('an HSM capped at C concurrent operations: never more than C at the HSM, a quick 429 past them, no 503 storm', async t => {
  const C = 2
  // Each operation holds a slot for 20 ms: the HSM serves at most 100 a second, and 32 clients ask for far more.
  const { shaped, loop } = await serve(t, 'capped', { latencyMs: 1, maxOps: C, serviceMs: 20, capMode: 'refuse' }, {
    // The appliance's capacity, told to the proxy (docs/operations.md sizing); KMS's own budget, as the point here
    // is what the proxy answers within it.
    XKSGATE__hsm__maxSessions: String(C), XKSGATE__hsm__opTimeoutMs: '200', XKSGATE__server__requestTimeoutMs: '240',
  })
  await loop.run(4, 500)
  shaped.control.resetCounters()
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()
  const answers = await loop.run(32, 4000)
  lag.disable()
  const stallMs = lag.percentile(99) / 1e6
  const counts = countStatuses(answers)
  const throttled = answers.filter(a => a.status === 429)
  const hsm = shaped.control.counters()
  t.comment(`statuses ${JSON.stringify(counts)}; 429 from the send: p50 ${percentileMs(throttled, 50).toFixed(1)} ms, ` +
    `p90 ${percentileMs(throttled, 90).toFixed(1)} ms, p99 ${percentileMs(throttled, 99).toFixed(1)} ms (issue #18's target: p99 <= 50 ms); at the HSM at most ${hsm.maxAsked}; this process's event loop delay p99 ${stallMs.toFixed(0)} ms`)
  t.ok(hsm.maxAsked <= C && hsm.maxAsked > 0, `at most ${C} operations at the HSM at once (${hsm.maxAsked})`)
  t.equal(hsm.busyRefused, 0, 'so the HSM never had to refuse one')
  t.ok((counts[200] ?? 0) > 0, `served at the HSM's pace (${counts[200] ?? 0})`)
  t.ok(throttled.length > 0, 'the excess is answered 429 ThrottlingException')
  // Times are judged only where the machine ran this test: a host whose scheduler left this very process waiting
  // more than MAX_STALL_MS (a CPU-bound job at a higher priority on both cores) delays every answer by as much.
  const timing = stallMs <= MAX_STALL_MS ? {} : { skip: `the machine stalled this process ${stallMs.toFixed(0)} ms (p99)` }
  // Generous for a loaded 2-core host running two test files at once; the target's 50 ms is the bench's to show.
  t.ok(percentileMs(throttled, 99) <= 250, `429 p99 ${percentileMs(throttled, 99).toFixed(1)} ms from the send, within 250 ms`, timing)
  // A 503 is an operation that left for the HSM with twice its recent time left and was then held past its
  // deadline: only a stall of this machine (the proxy's thread not scheduled for tens of ms) makes one here.
  const timeouts = counts[503] ?? 0
  t.ok(timeouts <= Math.max(3, answers.length / 100), `${timeouts} 503 of ${answers.length} (at most 1%: no storm)`, timing)
  t.same(Object.keys(counts).filter(s => s !== '200' && s !== '429' && s !== '503'), [], 'no other status')
})

t.test('busy answers and lost sessions, at the highest rate this machine holds', async t => {
  // The loaded-host budget (dev-server.ts): what is checked here is what fails, not how fast it is answered.
  const { shaped, loop } = await serve(t, 'faults', { latencyMs: 1 })
  await loop.run(16, 1000)

  await t.test('1 call in 100 answered busy (CKR_FUNCTION_FAILED): 0 requests fail', async t => {
    shaped.control.resetCounters()
    shaped.control.fault('function-failed', { probability: 0.01 })
    // 3 s, and on a host so loaded that they brought fewer than 5 busy answers, on to 10 s at most.
    const started = Date.now()
    const answers = await loop.run(16, 3000)
    while (shaped.control.counters().faults < 5 && Date.now() - started < 10_000) answers.push(...await loop.run(16, 1000))
    shaped.control.fault('none')
    const { faults } = shaped.control.counters()
    const seconds = (Date.now() - started) / 1000
    t.comment(`${answers.length} Encrypts in ${seconds.toFixed(1)} s (${(answers.length / seconds).toFixed(0)} req/s), ${faults} busy answers`)
    t.ok(faults > 0, `the HSM answered busy ${faults} times`)
    t.same(countStatuses(answers), { 200: answers.length }, `all ${answers.length} answered 200`)
  })

  await t.test('every session invalidated at once while serving: failed <= in flight then, all served within 1 s', async t => {
    let inHsm = -1
    let inRequests = -1
    let restartedAt = Infinity
    setTimeout(() => {
      inHsm = shaped.control.counters().asked
      inRequests = loop.inFlight
      restartedAt = Date.now()
      shaped.control.restart()
    }, 700)
    const answers = await loop.run(16, 2500)
    const failed = answers.filter(a => a.status !== 200)
    t.comment(`${answers.length} Encrypts; at the restart ${inHsm} operations at the HSM, ${inRequests} requests in flight; ${failed.length} failed`)
    t.ok(shaped.control.counters().staleCalls > 0, 'the HSM did answer CKR_SESSION_HANDLE_INVALID')
    t.ok(failed.length <= inHsm, `${failed.length} failed, ${inHsm} operations were at the HSM at the restart`)
    t.same(failed.filter(a => a.at > restartedAt + 1000).map(a => a.status), [], 'none fails more than 1 s after it')
    t.ok(answers.some(a => a.at > restartedAt + 1000 && a.status === 200), 'served again')
  })
})
