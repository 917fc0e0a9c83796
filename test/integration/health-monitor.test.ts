import pino from 'pino'
import t from 'tap'
import { HealthMonitor, type HealthMonitorOptions } from '../../src/health/health-monitor'
import { Pkcs11Pool } from '../../src/hsm/pool'
import { createTestToken, type TestToken } from '../helpers/softhsm'

let token: TestToken
let pool: Pkcs11Pool

t.before(async () => {
  token = await createTestToken()
  pool = await Pkcs11Pool.start({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, threads: 2, sessionsPerThread: 1, ivSource: 'random', maxBatch: 32 })
})
t.teardown(async () => {
  await pool?.close()
  token?.cleanup()
})

function monitor (overrides: Partial<HealthMonitorOptions> = {}): HealthMonitor {
  return new HealthMonitor({
    hsm: pool,
    keyLabel: 'health',
    intervalMs: 60_000,
    degradedLatencyMs: 10_000,
    timeoutMs: 2000,
    expectedSessions: 2,
    log: pino({ level: 'silent' }),
    ...overrides,
  })
}

t.test('a healthy token with a working health key is ACTIVE, with the token identity', async t => {
  const snapshot = await monitor().check()
  t.equal(snapshot.status, 'ACTIVE')
  t.equal(snapshot.reason, undefined)
  t.equal(snapshot.token?.label, token.tokenLabel)
  t.match(snapshot.token?.manufacturerId, /SoftHSM/)
})

t.test('a health key that cannot encrypt makes the EKM UNAVAILABLE, with the reason', async t => {
  const snapshot = await monitor({ keyLabel: 'no-such-health-key' }).check()
  t.equal(snapshot.status, 'UNAVAILABLE')
  t.match(snapshot.reason, /no-such-health-key|not found/i)
  t.ok(snapshot.token, 'token identity is still reported')
})

t.test('a probe that queued behind the load past its deadline is DEGRADED (at capacity), not UNAVAILABLE', async t => {
  // Enough operations ahead of it to take far longer than its 50 ms: it is answered Overloaded, never sent.
  const plaintext = Buffer.alloc(4096)
  const ahead = Array.from({ length: 20_000 }, async () =>
    await pool.encrypt({ keyLabel: 'foo', plaintext, gcmAad: Buffer.alloc(0), deadline: Date.now() + 60_000 }))
  const snapshot = await monitor({ timeoutMs: 50 }).check()
  await Promise.all(ahead)
  t.equal(snapshot.status, 'DEGRADED')
  t.match(snapshot.reason, /at its capacity/)
})

t.test('a slow check is DEGRADED', async t => {
  const snapshot = await monitor({ degradedLatencyMs: 0 }).check()
  t.equal(snapshot.status, 'DEGRADED')
  t.match(snapshot.reason, /health probe took/)
})

t.test('fewer open sessions than configured is DEGRADED', async t => {
  const snapshot = await monitor({ expectedSessions: 3 }).check()
  t.equal(snapshot.status, 'DEGRADED')
  t.match(snapshot.reason, /2 of 3 HSM sessions open/)
})

t.test('current() answers from the cache while fresh and checks again once too old', async t => {
  const m = monitor()
  const first = await m.start()
  t.teardown(() => m.stop())
  t.equal(await m.current(60_000), first, 'fresh result reused')
  await new Promise(resolve => setTimeout(resolve, 5))
  const second = await m.current(1)
  t.not(second, first, 'stale result replaced')
  t.ok(second.checkedAt > first.checkedAt)
})

t.test('concurrent checks share one probe', async t => {
  const m = monitor()
  const [a, b] = await Promise.all([m.check(), m.check()])
  t.equal(a, b)
})
