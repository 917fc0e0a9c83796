import pino from 'pino'
import t, { type Test } from 'tap'
import { createRedisClient, type RedisClient, whenReady } from '../../src/redis/connect'
import { createReplayGuard } from '../../src/replay/create-replay-guard'
import { MemoryReplayGuard } from '../../src/replay/memory-replay-guard'
import { type ReplayFailurePolicy, RedisReplayGuard } from '../../src/replay/redis-replay-guard'
import { XksError } from '../../src/xks/errors'
import { startRedis, type TestRedis } from '../helpers/redis-server'
import { until } from '../helpers/until'

// The production default is 50 ms; a healthy Redis answered slower than that on the 2-core host at load average
// 20-30, which made a healthy check fail. What is tested is that a check ends at the budget, not when Redis does.
const BUDGET_MS = 250
// Timer and event-loop stalls on a loaded 2-core host; still far below the 5 s stall of a paused Redis.
const SLACK_MS = 1000
const PAUSE_MS = 5000
const PREFIX = 'xksgate:replay:'

let seq = 0
const sig = (): string => (seq++).toString(16).padStart(64, '0')
const scopes = new Map<string, { name: string, index: number }>()
/** Key store names as the guard sees them, each with its own index as buildKeyStores gives them. */
function scope (name: string): { name: string, index: number } {
  if (!scopes.has(name)) scopes.set(name, { name, index: scopes.size })
  return scopes.get(name)!
}
const inFiveMinutes = (): number => Date.now() + 300_000

interface Harness { guard: RedisReplayGuard, client: RedisClient, warnings: string[] }

async function connect (redis: TestRedis): Promise<RedisClient> {
  const client = createRedisClient({ mode: 'standalone', url: redis.url, connectTimeoutMs: 1000, commandTimeoutMs: BUDGET_MS, maxReconnectDelayMs: 100 })
  if (!await whenReady(client, 5000)) throw new Error('test redis not ready')
  return client
}

async function harness (t: Test, redis: TestRedis, failurePolicy: ReplayFailurePolicy): Promise<Harness> {
  const client = await connect(redis)
  const warnings: string[] = []
  const logger = pino({ level: 'warn' }, {
    write: (line: string) => { warnings.push(JSON.parse(line).msg) },
  })
  const guard = new RedisReplayGuard({
    client, logger, failurePolicy, commandTimeoutMs: BUDGET_MS, keyPrefix: PREFIX,
    local: new MemoryReplayGuard({ maxEntries: 10_000 }),
  })
  t.teardown(async () => { await guard.close(); client.disconnect() })
  return { guard, client, warnings }
}

t.test('against a live Redis', async t => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const a = await harness(t, redis, 'fail-closed')
  const b = await harness(t, redis, 'fail-closed')

  t.test('a signature is fresh once, then a replay on another instance', async t => {
    const s = sig()
    t.equal(await a.guard.checkAndRecord(scope('store-1'), s, inFiveMinutes()), 'fresh')
    t.equal(await b.guard.checkAndRecord(scope('store-1'), s, inFiveMinutes()), 'replay', 'second process sees it')
    t.equal(await a.guard.checkAndRecord(scope('store-1'), s, inFiveMinutes()), 'replay', 'first process too')
    t.same(a.guard.status(), { backend: 'redis', degraded: false })
  })

  t.test('namespaced per key store', async t => {
    const s = sig()
    t.equal(await a.guard.checkAndRecord(scope('store-a'), s, inFiveMinutes()), 'fresh')
    t.equal(await b.guard.checkAndRecord(scope('store-b'), s, inFiveMinutes()), 'fresh')
    t.equal(await a.client.exists(`${PREFIX}store-a:${s}`, `${PREFIX}store-b:${s}`), 2)
  })

  t.test('the TTL covers the rest of the skew window, and at least 1 s', async t => {
    const s = sig()
    await a.guard.checkAndRecord(scope('store-1'), s, Date.now() + 300_000)
    const pttl = await a.client.pttl(`${PREFIX}store-1:${s}`)
    t.ok(pttl > 299_000 && pttl <= 300_000, `PTTL ${pttl} ≈ 300 s`)
    const late = sig()
    await a.guard.checkAndRecord(scope('store-1'), late, Date.now() - 10)
    const minimum = await a.client.pttl(`${PREFIX}store-1:${late}`)
    t.ok(minimum > 900 && minimum <= 1000, `PTTL ${minimum} ≈ 1 s minimum`)
  })

  t.test('a paused (slow) Redis fails within the budget, not when the pause ends', async t => {
    const admin = await connect(redis)
    t.teardown(() => admin.disconnect())
    await admin.client('PAUSE', PAUSE_MS, 'WRITE')
    const started = performance.now()
    const error = await a.guard.checkAndRecord(scope('store-1'), sig(), inFiveMinutes()).then(() => undefined, (e: unknown) => e)
    const elapsed = performance.now() - started
    await admin.client('UNPAUSE')
    t.ok(error instanceof XksError && error.status === 503, 'DependencyTimeoutException')
    t.ok(elapsed < BUDGET_MS + SLACK_MS, `failed after ${elapsed.toFixed(1)} ms`)
    t.equal(a.guard.status().degraded, true)
    await until('recovery after the pause', async () => {
      await a.guard.checkAndRecord(scope('store-1'), sig(), inFiveMinutes()).catch(() => {})
      return !a.guard.status().degraded
    })
  })
})

t.test('fail-open-local: Redis killed during traffic, then restored', async t => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const { guard, client, warnings } = await harness(t, redis, 'fail-open-local')
  const before = sig()
  t.equal(await guard.checkAndRecord(scope('s'), before, inFiveMinutes()), 'fresh')

  const during: string[] = []
  let killed: Promise<void> | undefined
  for (let i = 0; i < 200; i++) {
    if (i === 50) killed = redis.kill('SIGKILL')
    const s = sig()
    during.push(s)
    const started = performance.now()
    t.equal(await guard.checkAndRecord(scope('s'), s, inFiveMinutes()), 'fresh')
    const elapsed = performance.now() - started
    if (elapsed > BUDGET_MS + SLACK_MS) t.fail(`check ${i} took ${elapsed.toFixed(1)} ms`)
  }
  await killed
  t.equal(guard.status().degraded, true, 'degraded while Redis is down')
  t.ok(guard.status().reason, 'with a reason')
  t.equal(await guard.checkAndRecord(scope('s'), before, inFiveMinutes()), 'replay', 'a signature seen before the outage')
  for (const s of during) {
    if (await guard.checkAndRecord(scope('s'), s, inFiveMinutes()) !== 'replay') t.fail('local replay missed')
  }
  t.ok(guard.stats().fallbacks > 0, 'fallbacks counted')
  t.equal(guard.stats().outages, 1)
  t.equal(warnings.length, 1, 'one warning per outage')

  await redis.restart()
  await until('not degraded after restart', () => !guard.status().degraded)
  // The backfill first: its SETs share the auto-pipeline, and on a loaded machine a live check queued behind
  // them can miss its 50 ms budget and fall back (seen once in CI), which is a separate, timing-bound case.
  const last = during[during.length - 1]!
  await until('outage signatures backfilled', async () => await client.exists(`${PREFIX}s:${last}`) === 1)
  const after = sig()
  t.equal(await guard.checkAndRecord(scope('s'), after, inFiveMinutes()), 'fresh')
  t.equal(await client.exists(`${PREFIX}s:${after}`), 1, 'new checks reach Redis again')
  t.equal(guard.status().degraded, false)
  const other = await harness(t, redis, 'fail-open-local')
  t.equal(await other.guard.checkAndRecord(scope('s'), during[60]!, inFiveMinutes()), 'replay',
    'another instance rejects a signature first accepted during the outage')
})

t.test('fail-closed: Redis killed → 503 within the budget, then recovery', async t => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const { guard } = await harness(t, redis, 'fail-closed')
  await redis.kill('SIGKILL')
  for (let i = 0; i < 3; i++) {
    const started = performance.now()
    const error = await guard.checkAndRecord(scope('s'), sig(), inFiveMinutes()).then(() => undefined, (e: unknown) => e)
    const elapsed = performance.now() - started
    t.ok(error instanceof XksError && error.errorName === 'DependencyTimeoutException' && error.status === 503)
    t.ok(elapsed < BUDGET_MS + SLACK_MS, `refused after ${elapsed.toFixed(1)} ms`)
  }
  t.equal(guard.stats().refusals, 3)
  await redis.restart()
  await until('not degraded after restart', () => !guard.status().degraded)
  t.equal(await guard.checkAndRecord(scope('s'), sig(), inFiveMinutes()), 'fresh')
})

t.test('factory: memory guard without Redis, Redis guard with a client', async t => {
  const log = pino({ level: 'silent' })
  const config = { replay: { failurePolicy: 'fail-open-local' as const, commandTimeoutMs: 50, keyPrefix: 'other:', allowProcessLocal: false }, auth: { maxSkewSeconds: 300 }, keyStores: [] }
  const local = createReplayGuard({ log, config: { ...config, replay: { ...config.replay, maxLocalEntries: 1000 } } })
  t.equal(local.status().backend, 'memory')
  const s = sig()
  t.equal(await local.checkAndRecord(scope('s'), s, inFiveMinutes()), 'fresh')
  t.equal(await local.checkAndRecord(scope('s'), s, inFiveMinutes()), 'replay')
  const redis = await startRedis()
  t.teardown(redis.stop)
  const client = await connect(redis)
  t.teardown(() => client.disconnect())
  const shared = createReplayGuard({ log, redis: client, config: { ...config, replay: { ...config.replay, maxLocalEntries: 1000 } } })
  t.equal(shared.status().backend, 'redis')
  t.equal(await shared.checkAndRecord(scope('s'), s, inFiveMinutes()), 'fresh')
  t.equal(await client.exists(`other:s:${s}`), 1)
  await shared.close()
})
