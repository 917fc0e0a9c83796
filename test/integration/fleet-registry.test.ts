import pino from 'pino'
import t from 'tap'
import { FleetRegistry } from '../../src/fleet/fleet-registry'
import { createRedisClient, type RedisClient, whenReady } from '../../src/redis/connect'
import { startRedis } from '../helpers/redis-server'
import { until } from '../helpers/until'

const HEARTBEAT_MS = 100
const logger = pino({ level: 'silent' })
// A test's own client settings: quick to give up, quick to reconnect.
const CLIENT = { connectTimeoutMs: 1000, commandTimeoutMs: 200, maxReconnectDelayMs: 100 }
let instances = 0

t.test('fleet size from heartbeats', async t => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const clients: RedisClient[] = []
  t.teardown(() => clients.forEach(c => c.disconnect()))
  const registry = async (keyPrefix: string, instanceId = `instance-${++instances}`): Promise<FleetRegistry> => {
    const client = createRedisClient({ mode: 'standalone', url: redis.url, ...CLIENT })
    clients.push(client)
    t.ok(await whenReady(client, 5000))
    const r = new FleetRegistry({ client, logger, keyPrefix, heartbeatMs: HEARTBEAT_MS, instanceId })
    t.teardown(() => r.stop())
    await r.start()
    return r
  }

  t.test('two instances, then one stops', async t => {
    const a = await registry('t1:')
    const b = await registry('t1:')
    await a.beat()
    t.equal(a.fleetSize(), 2)
    t.equal(b.fleetSize(), 2, 'each sees both')
    await b.stop()
    await a.beat()
    t.equal(a.fleetSize(), 1, 'a stopped instance leaves at once')
  })

  t.test('processes sharing an instance id count once (per-host counting)', async t => {
    const a = await registry('t2:', 'host-1')
    const b = await registry('t2:', 'host-1')
    await registry('t2:', 'host-2')
    await a.beat()
    await b.beat()
    t.equal(a.fleetSize(), 2)
  })

  t.test('a crashed instance ages out after 3 heartbeats', async t => {
    const a = await registry('t3:')
    // A "crash": one heartbeat at Redis' own clock, then silence and no stop(). The heartbeat is dated LEAD_MS
    // ahead, so that the live instance still counts it below on a loaded host (3 heartbeats are only 300 ms).
    const LEAD_MS = 2000
    const started = Date.now()
    const [seconds, micros] = await clients[0]!.time()
    await clients[0]!.zadd('t3:fleet', Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + LEAD_MS, 'ghost')
    await a.beat()
    t.equal(a.fleetSize(), 2)
    await until('the ghost ages out', () => a.fleetSize() === 1)
    // The bound leaves room for a loaded host's timer stalls; without the live instance's cleanup the ghost would
    // never age out.
    t.ok(Date.now() - started < LEAD_MS + 50 * HEARTBEAT_MS, `within a few heartbeats (${Date.now() - started} ms)`)
    t.ok(await clients[0]!.pttl('t3:fleet') > 0, 'the set itself expires if the whole fleet dies')
  })

  t.test('Redis down: the last known size is kept', async t => {
    const a = await registry('t4:')
    await registry('t4:')
    await a.beat()
    t.equal(a.fleetSize(), 2)
    await redis.kill('SIGKILL')
    await a.beat()
    t.equal(a.fleetSize(), 2)
  })
})

t.test('no Redis: a fleet of one', async t => {
  const r = new FleetRegistry({ logger, instanceId: 'alone', heartbeatMs: HEARTBEAT_MS, keyPrefix: 't5:' })
  await r.start()
  t.equal(r.fleetSize(), 1)
  await r.stop()
})
