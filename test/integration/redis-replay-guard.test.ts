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
const WIDE_BUDGET_MS = 2000
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
/** When a first attempt claimed now counts as answered for other processes (request budget + margin). */
const inFlightWindow = (): number => Date.now() + 1240

interface Harness { guard: RedisReplayGuard, client: RedisClient, warnings: string[] }

async function connect (redis: TestRedis, budgetMs = BUDGET_MS): Promise<RedisClient> {
  const client = createRedisClient({ mode: 'standalone', url: redis.url, connectTimeoutMs: 1000, commandTimeoutMs: budgetMs, maxReconnectDelayMs: 100 })
  if (!await whenReady(client, 5000)) throw new Error('test redis not ready')
  return client
}

/** `budgetMs`: the Redis budget; tests that check no timing get a wide one, so a loaded machine cannot fail them. */
async function harness (t: Test, redis: TestRedis, failurePolicy: ReplayFailurePolicy, budgetMs = BUDGET_MS): Promise<Harness> {
  const client = await connect(redis, budgetMs)
  const warnings: string[] = []
  const logger = pino({ level: 'warn' }, {
    write: (line: string) => { warnings.push(JSON.parse(line).msg) },
  })
  const guard = new RedisReplayGuard({
    client, logger, failurePolicy, commandTimeoutMs: budgetMs, keyPrefix: PREFIX,
    local: new MemoryReplayGuard({ maxEntries: 10_000 }),
  })
  t.teardown(async () => { await guard.close(); client.disconnect() })
  return { guard, client, warnings }
}

t.test('against a live Redis', async t => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const a = await harness(t, redis, 'fail-closed', WIDE_BUDGET_MS)
  const b = await harness(t, redis, 'fail-closed', WIDE_BUDGET_MS)

  t.test('a signature is fresh once, then a replay on every instance once served', async t => {
    const s = sig()
    t.equal(await a.guard.checkAndRecord(scope('store-1'), s, inFiveMinutes(), inFlightWindow()), 'fresh')
    t.equal(await b.guard.checkAndRecord(scope('store-1'), s, inFiveMinutes(), inFlightWindow()), 'in-flight', 'second process: still in flight')
    a.guard.settle(scope('store-1'), s, true)
    t.equal(await a.guard.checkAndRecord(scope('store-1'), s, inFiveMinutes(), inFlightWindow()), 'replay', 'the first process knows it was served')
    t.equal(await b.guard.checkAndRecord(scope('store-1'), s, inFiveMinutes(), inFlightWindow()), 'in-flight',
      'another process cannot tell served from in flight until the claim\'s window ends')
    t.match(await a.client.get(`${PREFIX}store-1:${s}`), /^p\d+$/, 'a served attempt writes nothing more to Redis')
    const answered = sig()
    t.equal(await a.guard.checkAndRecord(scope('store-1'), answered, inFiveMinutes(), Date.now() - 1), 'fresh')
    a.guard.settle(scope('store-1'), answered, true)
    t.equal(await b.guard.checkAndRecord(scope('store-1'), answered, inFiveMinutes(), inFlightWindow()), 'replay', 'past the window: a replay')
    t.equal(await b.guard.checkAndRecord(scope('store-1'), answered, inFiveMinutes(), inFlightWindow()), 'replay', 'mirrored: no round trip')
    t.same(a.guard.status(), { backend: 'redis', degraded: false, backlog: 0 })
  })

  t.test('not served: presented once more on any instance, exactly once', async t => {
    const c = await harness(t, redis, 'fail-closed', WIDE_BUDGET_MS)
    const s = sig()
    t.equal(await a.guard.checkAndRecord(scope('store-1'), s, inFiveMinutes(), inFlightWindow()), 'fresh')
    a.guard.settle(scope('store-1'), s, false)
    await until('the claim released in Redis', async () => await a.client.get(`${PREFIX}store-1:${s}`) === 'r')
    const verdicts = await Promise.all([a, b, c].map(async h => await h.guard.checkAndRecord(scope('store-1'), s, inFiveMinutes(), inFlightWindow())))
    t.same(verdicts.filter(v => v === 'retry').length, 1, `one instance takes the re-presentation (${verdicts.join(', ')})`)
    t.same(verdicts.filter(v => v === 'replay').length, 2, 'the others see a replay')
    t.equal(await a.client.get(`${PREFIX}store-1:${s}`), 'u', 'used for good')
    const pttl = await a.client.pttl(`${PREFIX}store-1:${s}`)
    t.ok(pttl > 290_000, `the transitions keep the TTL (${pttl} ms)`)
    b.guard.settle(scope('store-1'), s, false)
    t.equal(await c.guard.checkAndRecord(scope('store-1'), s, inFiveMinutes(), inFlightWindow()), 'replay', 'a re-presentation settles nothing')
  })

  t.test('a record written by an earlier version (value 1) is a replay', async t => {
    const s = sig()
    await a.client.set(`${PREFIX}store-1:${s}`, '1', 'PX', 60_000)
    t.equal(await b.guard.checkAndRecord(scope('store-1'), s, inFiveMinutes(), inFlightWindow()), 'replay')
  })

  t.test('namespaced per key store', async t => {
    const s = sig()
    t.equal(await a.guard.checkAndRecord(scope('store-a'), s, inFiveMinutes(), inFlightWindow()), 'fresh')
    t.equal(await b.guard.checkAndRecord(scope('store-b'), s, inFiveMinutes(), inFlightWindow()), 'fresh')
    t.equal(await a.client.exists(`${PREFIX}store-a:${s}`, `${PREFIX}store-b:${s}`), 2)
  })

  t.test('the TTL covers the rest of the skew window, and at least 1 s', async t => {
    const s = sig()
    await a.guard.checkAndRecord(scope('store-1'), s, Date.now() + 300_000, inFlightWindow())
    const pttl = await a.client.pttl(`${PREFIX}store-1:${s}`)
    t.ok(pttl > 299_000 && pttl <= 300_000, `PTTL ${pttl} ≈ 300 s`)
    const late = sig()
    await a.guard.checkAndRecord(scope('store-1'), late, Date.now() - 10, inFlightWindow())
    const minimum = await a.client.pttl(`${PREFIX}store-1:${late}`)
    t.ok(minimum > 900 && minimum <= 1000, `PTTL ${minimum} ≈ 1 s minimum`)
  })

  t.test('a paused (slow) Redis fails within the budget, not when the pause ends', async t => {
    const a = await harness(t, redis, 'fail-closed')
    const admin = await connect(redis)
    t.teardown(() => admin.disconnect())
    await admin.client('PAUSE', PAUSE_MS, 'WRITE')
    const started = performance.now()
    const error = await a.guard.checkAndRecord(scope('store-1'), sig(), inFiveMinutes(), inFlightWindow()).then(() => undefined, (e: unknown) => e)
    const elapsed = performance.now() - started
    await admin.client('UNPAUSE')
    t.ok(error instanceof XksError && error.status === 503, 'DependencyTimeoutException')
    t.ok(elapsed < BUDGET_MS + SLACK_MS, `failed after ${elapsed.toFixed(1)} ms`)
    t.equal(a.guard.status().degraded, true)
    await until('recovery after the pause', async () => {
      await a.guard.checkAndRecord(scope('store-1'), sig(), inFiveMinutes(), inFlightWindow()).catch(() => {})
      return !a.guard.status().degraded
    })
  })
})

t.test('fail-open-local: Redis killed during traffic, then restored', async t => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const { guard, client, warnings } = await harness(t, redis, 'fail-open-local')
  const before = sig()
  t.equal(await guard.checkAndRecord(scope('s'), before, inFiveMinutes(), inFlightWindow()), 'fresh')
  guard.settle(scope('s'), before, true)

  const during: string[] = []
  let killed: Promise<void> | undefined
  for (let i = 0; i < 200; i++) {
    if (i === 50) killed = redis.kill('SIGKILL')
    const s = sig()
    during.push(s)
    const started = performance.now()
    t.equal(await guard.checkAndRecord(scope('s'), s, inFiveMinutes(), inFlightWindow()), 'fresh')
    const elapsed = performance.now() - started
    if (elapsed > BUDGET_MS + SLACK_MS) t.fail(`check ${i} took ${elapsed.toFixed(1)} ms`)
    guard.settle(scope('s'), s, true)
  }
  await killed
  t.equal(guard.status().degraded, true, 'degraded while Redis is down')
  t.ok(guard.status().reason, 'with a reason')
  t.equal(await guard.checkAndRecord(scope('s'), before, inFiveMinutes(), inFlightWindow()), 'replay', 'a signature seen before the outage')
  for (const s of during) {
    if (await guard.checkAndRecord(scope('s'), s, inFiveMinutes(), inFlightWindow()) !== 'replay') t.fail('local replay missed')
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
  t.equal(await guard.checkAndRecord(scope('s'), after, inFiveMinutes(), inFlightWindow()), 'fresh')
  t.equal(await client.exists(`${PREFIX}s:${after}`), 1, 'new checks reach Redis again')
  t.equal(guard.status().degraded, false)
  const other = await harness(t, redis, 'fail-open-local')
  t.equal(await other.guard.checkAndRecord(scope('s'), during[60]!, inFiveMinutes(), inFlightWindow()), 'replay',
    'another instance rejects a signature first accepted during the outage')
})

// Regression (issue 17.5): every signature accepted locally during an outage was kept until Redis came back, expired
// or not (10,800 entries held for 937 live ones). The proxy's clock is simulated; Redis is really down.
t.test('fail-open-local: a long outage holds only the live signatures for the backfill', async t => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  let time = Date.now()
  const now = (): number => time
  const client = await connect(redis)
  const warnings: string[] = []
  const guard = new RedisReplayGuard({
    client, logger: pino({ level: 'warn' }, { write: (line: string) => { warnings.push(line) } }), failurePolicy: 'fail-open-local',
    commandTimeoutMs: BUDGET_MS, keyPrefix: PREFIX, local: new MemoryReplayGuard({ maxEntries: 10_000, now }), now,
  })
  t.teardown(async () => { await guard.close(); client.disconnect() })
  await redis.kill('SIGKILL')
  // Three simulated hours at one request a second, each signed up to 5 min either side of the proxy's clock.
  const expiries: number[] = []
  let largest = 0
  for (let i = 0; i < 10_800; i++) {
    const expiresAtMs = time + 300_000 + ((i * 7919) % 600_000) - 300_000
    expiries.push(expiresAtMs)
    if (await guard.checkAndRecord(scope('s'), sig(), expiresAtMs, time + 1240) !== 'fresh') t.fail(`request ${i} not fresh`)
    largest = Math.max(largest, guard.stats().backlog)
    time += 1000
  }
  const live = expiries.filter(e => e > time).length
  t.comment(`backlog at most ${largest}, ${guard.stats().backlog} at the end, for ${live} live of 10,800 accepted`)
  t.ok(live > 0 && live < 600, `some signatures still live (${live})`)
  t.ok(guard.stats().backlog <= live + 1, `the backlog holds the live signatures only (${guard.stats().backlog})`)
  t.ok(largest <= 601, `and never more than a skew window's worth (${largest})`)

  const keysBefore = seq
  await redis.restart()
  // Redis counts each record's TTL from when it is written, in real time, while the proxy's clock stands still:
  // a record with a second or two left may already have gone when the check runs on a loaded machine (what
  // failed here in CI). The ones with over a minute left must all be there.
  const lasting = expiries.filter(e => e > time + 60_000).length
  await until('backlog written', async () => guard.stats().backlog === 0 && (await client.dbsize().catch(() => 0)) >= lasting, 20_000)
    .catch((error: Error) => { throw new Error(`${error.message}; the guard warned: ${warnings.join('')}`) })
  t.ok(await client.dbsize() <= live + 1, `only the live ones written (${await client.dbsize()} keys)`)
  t.equal(await client.exists(`${PREFIX}s:${(keysBefore - 1).toString(16).padStart(64, '0')}`), 1, 'the newest one among them')
})

// Regression: the first failed chunk of a backfill dropped every signature not yet written, so one slow or refused
// answer just after Redis came back reopened the cross-instance replay gap for the whole outage. Redis refuses the
// writes here for real: with maxmemory at 1 byte and no eviction it answers every SET with an OOM error.
t.test('fail-open-local: a backfill Redis refuses is kept and written once Redis accepts it', async t => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const { guard, warnings } = await harness(t, redis, 'fail-open-local', WIDE_BUDGET_MS)
  const admin = await connect(redis)
  t.teardown(() => admin.disconnect())
  await admin.config('SET', 'maxmemory', '1')
  const accepted: string[] = []
  for (let i = 0; i < 1200; i++) {
    const s = sig()
    accepted.push(s)
    if (await guard.checkAndRecord(scope('s'), s, inFiveMinutes(), inFlightWindow()) !== 'fresh') t.fail(`check ${i} not fresh`)
  }
  t.equal(guard.stats().fallbacks, 1200, 'every check fell back to the local cache (Redis refused its SET)')
  t.equal(guard.stats().backlog, 1200, 'and each is held for the backfill')
  // The connection drops and comes back: 'ready' starts the backfill, which Redis refuses as it did the checks.
  await admin.call('CLIENT', 'KILL', 'TYPE', 'normal')
  await until('the refused backfill is warned about', () => warnings.some(w => /backfill after outage/.test(w)))
  t.equal(guard.stats().backlog, 1200, 'the refused signatures are back in the backlog')
  t.equal(await admin.dbsize(), 0, 'nothing was written')
  await admin.config('SET', 'maxmemory', '0')
  await until('backlog written', async () => guard.stats().backlog === 0 && await admin.dbsize() === 1200)
  const keys = await Promise.all(accepted.map(async s => await admin.get(`${PREFIX}s:${s}`)))
  t.ok(keys.every(v => v === 'u'), 'every signature accepted during the refusal is recorded as used')
  const other = await harness(t, redis, 'fail-open-local')
  t.equal(await other.guard.checkAndRecord(scope('s'), accepted[700]!, inFiveMinutes(), inFlightWindow()), 'replay',
    'another instance rejects one of them')
})

t.test('fail-closed: Redis killed → 503 within the budget, then recovery', async t => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const { guard } = await harness(t, redis, 'fail-closed')
  await redis.kill('SIGKILL')
  for (let i = 0; i < 3; i++) {
    const started = performance.now()
    const error = await guard.checkAndRecord(scope('s'), sig(), inFiveMinutes(), inFlightWindow()).then(() => undefined, (e: unknown) => e)
    const elapsed = performance.now() - started
    t.ok(error instanceof XksError && error.errorName === 'DependencyTimeoutException' && error.status === 503)
    t.ok(elapsed < BUDGET_MS + SLACK_MS, `refused after ${elapsed.toFixed(1)} ms`)
  }
  t.equal(guard.stats().refusals, 3)
  await redis.restart()
  await until('not degraded after restart', () => !guard.status().degraded)
  t.equal(await guard.checkAndRecord(scope('s'), sig(), inFiveMinutes(), inFlightWindow()), 'fresh')
})

t.test('factory: memory guard without Redis, Redis guard with a client', async t => {
  const log = pino({ level: 'silent' })
  const config = { replay: { failurePolicy: 'fail-open-local' as const, commandTimeoutMs: 50, keyPrefix: 'other:', allowProcessLocal: false }, auth: { maxSkewSeconds: 300 }, keyStores: [] }
  const local = createReplayGuard({ log, config: { ...config, replay: { ...config.replay, maxLocalEntries: 1000 } } })
  t.equal(local.status().backend, 'memory')
  const s = sig()
  t.equal(await local.checkAndRecord(scope('s'), s, inFiveMinutes(), inFlightWindow()), 'fresh')
  local.settle(scope('s'), s, true)
  t.equal(await local.checkAndRecord(scope('s'), s, inFiveMinutes(), inFlightWindow()), 'replay')
  const redis = await startRedis()
  t.teardown(redis.stop)
  const client = await connect(redis)
  t.teardown(() => client.disconnect())
  const shared = createReplayGuard({ log, redis: client, config: { ...config, replay: { ...config.replay, maxLocalEntries: 1000 } } })
  t.equal(shared.status().backend, 'redis')
  t.equal(await shared.checkAndRecord(scope('s'), s, inFiveMinutes(), inFlightWindow()), 'fresh')
  t.equal(await client.exists(`other:s:${s}`), 1)
  await shared.close()
})
