import t from 'tap'
import { freePort } from '../../src/dev/free-port'
import { startDevServer } from '../helpers/dev-server'
import { TWO_CORE_SIZING, fetchText, fixedEncrypt, sample, type RuntimeConnection } from '../helpers/cluster'
import { startRedis } from '../helpers/redis-server'
import { until } from '../helpers/until'
import { XksClient } from '../helpers/xks-client'

t.test('fail-open-local: Redis killed during traffic keeps serving, readiness degrades, then recovers', async t => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const healthPort = await freePort()
  const server = await startDevServer({
    args: ['--processes', '2', '--redis', redis.url],
    env: { ...TWO_CORE_SIZING, XKSGATE__healthPort__port: String(healthPort), XKSGATE__healthPort__host: '127.0.0.1' },
  })
  t.teardown(server.stop)
  const connection = server.connection as RuntimeConnection
  const client = new XksClient(connection, 4)
  t.teardown(() => client.close())
  const statuses: number[] = []
  const stopTraffic = new AbortController()
  const traffic = (async () => {
    while (!stopTraffic.signal.aborted) statuses.push((await client.send(fixedEncrypt(connection))).status)
  })()
  await until('some traffic', () => statuses.length > 20)
  await redis.kill('SIGKILL')
  // The reason is on the health port only; the TLS port says "not ready".
  await until('readiness reports Redis', async () => {
    const ready = await fetchText(`http://127.0.0.1:${healthPort}/readyz`)
    return ready.status === 503 && /Redis unreachable/.test(ready.body)
  })
  const duringOutage = statuses.length
  await until('traffic during the outage', () => statuses.length > duringOutage + 20)
  const metrics = (await fetchText(connection.metricsUrl ?? '')).body
  t.ok((sample(metrics, 'xksgate_replay_redis_errors_total') ?? 0) > 0, 'Redis errors counted')
  t.equal(sample(metrics, 'xksgate_replay_redis_up'), 0)
  const backlog = sample(metrics, 'xksgate_replay_redis_backlog') ?? 0
  t.ok(backlog > 0, `the signatures served during the outage wait for Redis (${backlog})`)
  await redis.restart()
  await until('readiness back', async () => (await client.send({ method: 'GET', path: '/readyz', unsigned: true })).status === 200)
  stopTraffic.abort()
  await traffic
  await until('the backlog written to Redis', async () => sample((await fetchText(connection.metricsUrl ?? '')).body, 'xksgate_replay_redis_backlog') === 0)
  t.pass('the backlog gauge is back to 0 once written')
  t.comment(`${statuses.length} requests across the outage`)
  t.same(new Set(statuses), new Set([200]), 'every request served, before, during and after the outage')
})

t.test('fail-closed: Redis down answers 503 DependencyTimeoutException, then recovers by itself', async t => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const server = await startDevServer({ args: ['--redis', redis.url], env: { XKSGATE__replay__failurePolicy: 'fail-closed' } })
  t.teardown(server.stop)
  const client = new XksClient(server.connection)
  t.teardown(() => client.close())
  t.equal((await client.send(fixedEncrypt(server.connection))).status, 200)
  await redis.kill('SIGKILL')
  const refused = await client.send(fixedEncrypt(server.connection))
  t.equal(refused.status, 503)
  t.equal(refused.json.errorName, 'DependencyTimeoutException')
  await redis.restart()
  await until('served again', async () => (await client.send(fixedEncrypt(server.connection))).status === 200)
  t.pass('recovered without a restart')
})
