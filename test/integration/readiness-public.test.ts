/**
 * /readyz on the KMS-facing TLS port, and on the health port to a peer from another address (the load balancer),
 * tells only ready or not ready; why (and which process answered) is for operators: the health port asked from
 * this host's loopback, the metrics and the log. The cause used here is the issue's own: Redis unreachable, whose
 * reason names an address and a socket error.
 */
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import t from 'tap'
import { freePort } from '../../src/dev/free-port'
import { fetchText, sample, type RuntimeConnection } from '../helpers/cluster'
import { startDevServer, testFrontend } from '../helpers/dev-server'
import { startRedis } from '../helpers/redis-server'
import { until } from '../helpers/until'
import { XksClient, type XksResponse } from '../helpers/xks-client'

t.test('readiness: status only on the TLS port and to the load balancer, the reason on the health port from loopback, metrics and log', async t => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const healthPort = await freePort()
  const server = await startDevServer({
    args: ['--redis', redis.url],
    // healthPort.host keeps its default, every interface, as an NLB needs it.
    env: { XKSGATE__healthPort__port: String(healthPort) },
  })
  t.teardown(async () => {
    await server.stop()
    fs.rmSync(server.dir, { recursive: true, force: true })
  })
  const connection = server.connection as RuntimeConnection
  const client = new XksClient(connection)
  t.teardown(() => client.close())
  const publicReadyz = async (): Promise<XksResponse> => await client.send({ method: 'GET', path: '/readyz', unsigned: true })
  const detailedReadyz = async (): Promise<Record<string, unknown>> =>
    JSON.parse((await fetchText(`http://127.0.0.1:${healthPort}/readyz`)).body) as Record<string, unknown>
  // This host's own address on its network interface stands for the NLB: a peer that is not on loopback.
  const external = Object.values(os.networkInterfaces()).flat().find(a => a !== undefined && !a.internal && a.family === 'IPv4')?.address
  t.ok(external, 'this host has an address besides loopback, to ask the health port from as a load balancer would')
  const nlbReadyz = async (path = '/readyz'): Promise<{ status: number, body: string }> => await fetchText(`http://${external ?? '127.0.0.1'}:${healthPort}${path}`)

  const ready = await publicReadyz()
  t.equal(ready.status, 200)
  t.equal(ready.body, '{"status":"ready"}', 'TLS port: status only')
  t.match(await detailedReadyz(), { status: 'ready', pid: server.process.pid, worker: 0 }, 'health port: which process answered')
  t.equal((await client.send({ method: 'GET', path: '/ping', unsigned: true })).body, '{"status":"ok"}')
  t.same(await nlbReadyz(), { status: 200, body: '{"status":"ready"}' }, 'health port from another address: status only')
  t.same(await nlbReadyz('/ping'), { status: 200, body: '{"status":"ok"}' })

  // uWS writes "uWebSockets: 20" on every response and this build has no switch to omit it (docs/behaviour.md, "HTTP
  // framing"): it names the server's major version only. node:http writes its keep-alive fields and no server
  // mark. Any other header appearing here is a change to review.
  if (testFrontend() === 'uws') {
    t.same(Object.keys(ready.headers).sort(), ['content-length', 'content-type', 'date', 'uwebsockets'], 'no other response headers')
    t.equal(ready.headers.uwebsockets, '20', 'the uWS mark: a major version, nothing about this process')
  } else {
    t.same(Object.keys(ready.headers).sort(), ['connection', 'content-length', 'content-type', 'date', 'keep-alive'], 'no other response headers')
  }

  await redis.kill('SIGKILL')
  await until('readiness off', async () => (await publicReadyz()).status === 503)
  const notReady = await publicReadyz()
  t.equal(notReady.body, '{"status":"not ready"}', 'TLS port: no reason, address, pid or worker')
  const detailed = await detailedReadyz()
  t.match(detailed, { status: 'not ready', reason: /^Redis unreachable: /, pid: server.process.pid, worker: 0 }, 'health port from loopback: the reason')
  t.same(await nlbReadyz(), { status: 503, body: '{"status":"not ready"}' },
    'health port from another address: status only, no reason, Redis address, backend, pid or worker')
  t.equal(sample((await fetchText(connection.metricsUrl ?? '')).body, 'xksgate_ready'), 0, 'metrics: not ready')
  await until('the change is logged', () => server.output().includes('"msg":"readiness: not ready"'))
  const logged = server.output().split('\n').filter(l => l.includes('"msg":"readiness: not ready"')).map(l => JSON.parse(l) as Record<string, unknown>)
  t.match(logged[0], { level: 40, reason: detailed.reason }, 'log: the reason, once, at warn')
  t.equal(logged.length, 1, 'logged once per change, not per probe')

  await t.test('HEAD on the health port answers like GET, without a body', async t => {
    const head = await new Promise<http.IncomingMessage & { body: string }>((resolve, reject) => {
      http.request({ host: '127.0.0.1', port: healthPort, path: '/readyz', method: 'HEAD' }, res => {
        let body = ''
        res.on('data', (d: Buffer) => { body += d.toString() })
        res.on('end', () => resolve(Object.assign(res, { body })))
      }).on('error', reject).end()
    })
    const get = await fetchText(`http://127.0.0.1:${healthPort}/readyz`)
    t.equal(head.statusCode, get.status, `${get.status} like GET`)
    t.equal(head.headers['content-length'], String(Buffer.byteLength(get.body)), 'Content-Length of the GET body')
    t.equal(head.body, '')
  })
})
