/**
 * The router's decisions over stand-in backends (pure logic; the failover through real pools and SoftHSM is
 * test/integration/hsm-failover.test.ts): where operations go, which failures are retried elsewhere, how the
 * deadline bounds the retry, and how the circuit breaker takes a backend out and lets a probe bring it back.
 */
import t from 'tap'
import { Breaker, FAILURES_TO_OPEN, PROBE_MAX_MS, PROBE_MIN_MS } from '../../src/hsm/breaker'
import { HsmRouter, MIN_RETRY_MS } from '../../src/hsm/router'
import type { EncryptRequest, HsmBackend, HsmFailureKind, HsmOutcome } from '../../src/hsm/types'

interface Fake extends HsmBackend {
  calls: EncryptRequest[]
  fail: HsmFailureKind | undefined
}

function fake (): Fake {
  const f: Fake = {
    calls: [],
    fail: undefined,
    encrypt: async req => {
      f.calls.push(req)
      if (f.fail !== undefined) return { ok: false, failure: { kind: f.fail, message: `${f.fail} here` } }
      return { ok: true, value: { ciphertext: Buffer.alloc(0), tag: Buffer.alloc(16), iv: Buffer.alloc(12) } }
    },
    decrypt: async () => ({ ok: true, value: { plaintext: Buffer.alloc(0) } }),
    describeKey: async () => ({ ok: false, failure: { kind: 'KeyNotFound', message: 'none' } }),
    tokenInfo: async () => ({ ok: false, failure: { kind: 'Unavailable', message: 'none' } }),
    stats: () => ({ threads: 1, sessionsOpen: 1, queued: 0, inFlight: 0, batches: 0, batchedOps: 0, concurrencyLimit: 1 }),
    close: async () => {},
  }
  return f
}

function routerOf (n: number, opTimeoutMs = 1000): { router: HsmRouter, fakes: Fake[], probes: string[], changes: string[] } {
  const fakes = Array.from({ length: n }, fake)
  const probes: string[] = []
  const changes: string[] = []
  const router = new HsmRouter(fakes.map((backend, i) => ({ name: `b${i}`, backend, opTimeoutMs, probe: () => { probes.push(`b${i}`) } })),
    (name, state) => { changes.push(`${name} ${state}`) })
  t.teardown(() => router.close())
  return { router, fakes, probes, changes }
}

const request = (msLeft = 1000): EncryptRequest => ({ keyLabel: 'k', plaintext: Buffer.alloc(1), gcmAad: Buffer.alloc(0), deadline: Date.now() + msLeft })
const ok = (o: HsmOutcome<unknown>): boolean => o.ok

t.test('operations spread over healthy backends', async t => {
  const { router, fakes } = routerOf(2)
  await Promise.all(Array.from({ length: 10 }, async () => await router.encrypt(request())))
  t.equal(fakes[0].calls.length, 5)
  t.equal(fakes[1].calls.length, 5)
})

t.test('a backend failure is retried once on another backend; a data failure is not', async t => {
  const { router, fakes } = routerOf(2)
  fakes[0].fail = 'Unavailable'
  const outcomes = await Promise.all([router.encrypt(request()), router.encrypt(request())])
  t.ok(outcomes.every(ok), 'both answered by the healthy backend')
  t.equal(fakes[1].calls.length, 2)
  t.equal(router.backends()[0].failedOver, 1, 'the one that went to b0 first was failed over')

  fakes[0].fail = 'AuthenticationFailed'
  fakes[1].fail = 'AuthenticationFailed'
  const before = fakes[0].calls.length + fakes[1].calls.length
  const outcome = await router.encrypt(request())
  t.equal(outcome.ok ? undefined : outcome.failure.kind, 'AuthenticationFailed')
  t.equal(fakes[0].calls.length + fakes[1].calls.length, before + 1, 'one attempt only')
})

t.test('a key one backend lacks is looked for on another, without taking the first out', async t => {
  const { router, fakes, changes } = routerOf(2)
  fakes[0].fail = 'KeyNotFound'
  for (let i = 0; i < 2 * FAILURES_TO_OPEN; i++) t.ok(ok(await router.encrypt(request())), `request ${i} served by the backend with the key`)
  t.same(changes, [], 'no breaker opened')
  t.equal(router.backends()[0].failedOver, FAILURES_TO_OPEN)
  fakes[1].fail = 'KeyNotFound'
  const outcome = await router.encrypt(request())
  t.equal(outcome.ok ? undefined : outcome.failure.kind, 'KeyNotFound', 'missing everywhere: KeyNotFound')
})

t.test('each attempt is bounded by its backend\'s opTimeoutMs within the operation\'s deadline; no retry without time left', async t => {
  const { router, fakes } = routerOf(2, 50)
  const req = request(1000)
  await router.encrypt(req)
  const sent = [...fakes[0].calls, ...fakes[1].calls][0]
  t.ok(sent.deadline <= Date.now() + 50 && sent.deadline < req.deadline, 'attempt deadline = now + opTimeoutMs')
  t.equal(sent.keyLabel, req.keyLabel)

  fakes[0].fail = 'Timeout'
  fakes[1].fail = 'Timeout'
  const calls = (): number => fakes[0].calls.length + fakes[1].calls.length
  const n = calls()
  await router.encrypt(request(MIN_RETRY_MS - 4))
  t.equal(calls(), n + 1, `under ${MIN_RETRY_MS} ms left: no retry`)
  await router.encrypt(request(1000))
  t.equal(calls(), n + 3, 'with time left: one retry, not more')
})

t.test('the breaker takes a failing backend out, probes it, and a good probe brings it back', async t => {
  const { router, fakes, probes, changes } = routerOf(2)
  fakes[1].fail = 'Unavailable'
  for (let i = 0; i < 2 * FAILURES_TO_OPEN; i++) t.ok(ok(await router.encrypt(request())), `request ${i} served`)
  t.same(changes, ['b1 open'])
  t.equal(router.backends()[1].state, 'open')
  t.match(router.outReason('b1'), /Unavailable here/)
  t.same(probes, ['b1'], 'opening runs a deep check at once')
  const seen = fakes[1].calls.length
  for (let i = 0; i < 6; i++) await router.encrypt(request())
  t.equal(fakes[1].calls.length, seen, 'nothing goes to a backend that is out')

  router.healthResult('b1', 'still failing')
  t.equal(router.backends()[1].state, 'open', 'a failed check keeps it out')
  fakes[1].fail = undefined
  router.healthResult('b1', undefined)
  t.same(changes, ['b1 open', 'b1 closed'])
  t.equal(router.outReason('b1'), undefined)
  await Promise.all(Array.from({ length: 4 }, async () => await router.encrypt(request())))
  t.ok(fakes[1].calls.length > seen, 'back in the routing')
})

t.test('with every backend out, operations are still tried (refusing would fail them for sure)', async t => {
  const { router, fakes } = routerOf(2)
  router.healthResult('b0', 'down')
  router.healthResult('b1', 'down')
  t.ok(ok(await router.encrypt(request())), 'answered by a backend that was out')
  t.equal(router.stats().threads, 2, 'stats sum over the backends')
  t.equal(fakes[0].calls.length + fakes[1].calls.length, 1)
})

t.test('one backend: one attempt, never a retry', async t => {
  const { router, fakes } = routerOf(1)
  fakes[0].fail = 'Unavailable'
  t.notOk(ok(await router.encrypt(request())))
  t.equal(fakes[0].calls.length, 1)
})

t.test('breaker: opens after FAILURES_TO_OPEN in a row, probes with backoff, closes on success', async t => {
  let now = 0
  const b = new Breaker(() => now)
  for (let i = 1; i < FAILURES_TO_OPEN; i++) t.notOk(b.failure('x'))
  b.success()
  for (let i = 1; i < FAILURES_TO_OPEN; i++) b.failure('x')
  t.equal(b.state, 'closed', 'a success in between resets the count')
  t.ok(b.failure('x'), 'the last one in a row opens it')
  t.equal(b.opened, 1)
  t.notOk(b.takeProbe(), 'no probe before it is due')
  now += PROBE_MIN_MS
  t.ok(b.takeProbe())
  t.equal(b.state, 'probing')
  b.failure('y')
  t.equal(b.state, 'open')
  now += 2 * PROBE_MIN_MS - 1
  t.notOk(b.takeProbe(), 'a failed probe doubles the wait…')
  now += 1
  t.ok(b.takeProbe(), '…to 2 × PROBE_MIN_MS')
  for (let i = 0; i < 10; i++) { b.failure('y'); now += PROBE_MAX_MS; t.ok(b.takeProbe(), `probe ${i} due after PROBE_MAX_MS at most`) }
  b.failure('y')
  now += PROBE_MAX_MS - 1
  t.notOk(b.takeProbe(), 'and the wait has grown to PROBE_MAX_MS')
  b.success()
  t.equal(b.state, 'closed')
  t.equal(b.reason, undefined)
  t.ok(b.trip('health check failed'), 'trip opens at once')
  t.equal(b.opened, 2)
})

/** A backend that answers after `delayMs` (set per call), for hedging. */
function slow (f: Fake, delayMs: () => number): void {
  const answer = f.encrypt
  f.encrypt = async req => await new Promise(resolve => setTimeout(() => { resolve(answer(req)) }, delayMs()))
}

function hedgingRouter (): { router: HsmRouter, fakes: Fake[] } {
  const fakes = [fake(), fake()]
  const router = new HsmRouter(fakes.map((backend, i) => ({ name: `b${i}`, backend, opTimeoutMs: 1000, hedge: true, probe: () => {} })))
  t.teardown(() => router.close())
  return { router, fakes }
}

t.test('hedging: an operation slower than its backend\'s p95 is also sent to another backend, and the first answer wins', async t => {
  const { router, fakes } = hedgingRouter()
  let b0Delay = 1
  slow(fakes[0], () => b0Delay)
  slow(fakes[1], () => 1)
  // Learn each backend's latency (about 1 ms), one at a time so each goes where the rotation sends it.
  for (let i = 0; i < 200; i++) await router.encrypt(request())
  t.equal(router.backends()[0].hedged, 0, 'no hedge while every answer is as fast as usual')
  b0Delay = 300
  const started = Date.now()
  const outcomes = await Promise.all([router.encrypt(request()), router.encrypt(request())])
  t.ok(outcomes.every(ok))
  t.ok(Date.now() - started < 250, `answered by the fast backend, not after b0's 300 ms (${Date.now() - started} ms)`)
  const b0 = router.backends()[0]
  t.equal(b0.hedged, 1, 'the operation that went to b0 was hedged')
  t.equal(b0.hedgesWon, 1, 'and b1 answered it first')
})

t.test('hedging: never to a backend taken out, and a data failure ends the race', async t => {
  const { router, fakes } = hedgingRouter()
  let b0Delay = 1
  slow(fakes[0], () => b0Delay)
  slow(fakes[1], () => 1)
  for (let i = 0; i < 200; i++) await router.encrypt(request())
  router.healthResult('b1', 'device error')
  b0Delay = 40
  const callsToB1 = fakes[1].calls.length
  t.ok((await router.encrypt(request())).ok)
  t.equal(fakes[1].calls.length, callsToB1, 'b1 is out of the routing: no hedge sent there')
  t.equal(router.backends()[0].hedged, 0)

  router.healthResult('b1', undefined)
  for (const f of fakes) f.fail = 'AuthenticationFailed'
  b0Delay = 1
  const callsBefore = fakes[0].calls.length + fakes[1].calls.length
  const outcome = await router.encrypt(request())
  t.notOk(outcome.ok, 'a wrong tag is the same everywhere: answered as it is')
  t.equal(fakes[0].calls.length + fakes[1].calls.length, callsBefore + 1, 'neither hedged nor retried')
})
