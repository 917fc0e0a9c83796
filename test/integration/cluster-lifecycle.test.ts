import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { startDevServer } from '../helpers/dev-server'
import { TWO_CORE_SIZING, fetchText, fixedEncrypt, pinnedClient, sample, type RuntimeConnection } from '../helpers/cluster'
import { freePort } from '../../src/dev/free-port'
import { until } from '../helpers/until'
import { XksClient } from '../helpers/xks-client'

t.test('two processes: ready endpoints, aggregated metrics, crash replacement, graceful stop', async t => {
  const healthPort = await freePort()
  // shutdown.graceMs 5 s: the draining 503 of /readyz must be seen within it (below), also on a loaded host.
  const server = await startDevServer({
    args: ['--processes', '2'],
    env: { ...TWO_CORE_SIZING, XKSGATE__replay__allowProcessLocal: 'true', XKSGATE__healthPort__port: String(healthPort), XKSGATE__healthPort__host: '127.0.0.1', XKSGATE__shutdown__graceMs: '5000', XKSGATE__cluster__restartMinMs: '50' },
  })
  t.teardown(server.stop)
  const connection = server.connection as RuntimeConnection
  t.match(connection.readyUrl, /^https:\/\/127\.0\.0\.1:\d+\/readyz$/)
  t.match(connection.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)

  const client = new XksClient(connection)
  t.teardown(() => client.close())
  for (let i = 0; i < 4; i++) t.equal((await client.send(fixedEncrypt(connection))).status, 200)
  t.equal((await client.send({ ...fixedEncrypt(connection), path: `${connection.uriPrefix}/keys/nope/encrypt` })).status, 404)
  const plain = await fetchText(`http://127.0.0.1:${healthPort}/readyz`)
  t.equal(plain.status, 200, 'plain-HTTP health port answers /readyz')
  t.equal((await client.send({ method: 'GET', path: '/metrics', unsigned: true })).status, 404, 'no metrics on the TLS port')

  // A process reports its EKM health state once its first health check has answered, which need not have happened
  // by now (at load average 19 one of the two had not): read the metrics once both report one.
  let metrics = ''
  await until('both processes report their EKM health state', async () => {
    metrics = (await fetchText(connection.metricsUrl ?? '')).body
    return (sample(metrics, 'xksgate_ekm_health_state{state="ACTIVE"}') ?? 0) +
      (sample(metrics, 'xksgate_ekm_health_state{state="DEGRADED"}') ?? 0) + (sample(metrics, 'xksgate_ekm_health_state{state="UNAVAILABLE"}') ?? 0) >= 2
  }, 60_000)
  t.equal(sample(metrics, 'xksgate_requests_total{operation="encrypt",key_store="dev",status="200",error_name=""}'), 4)
  t.equal(sample(metrics, 'xksgate_requests_total{operation="encrypt",key_store="dev",status="404",error_name="KeyNotFoundException"}'), 1)
  t.equal(sample(metrics, 'xksgate_hsm_sessions_open'), 2, 'sessions summed over 2 processes × 1 thread')
  t.equal(sample(metrics, 'xksgate_ready'), 2, 'both processes ready')
  t.equal(sample(metrics, 'xksgate_ekm_health_state{state="ACTIVE"}'), 2)
  t.ok((sample(metrics, 'xksgate_tls_certificate_days_to_expire') ?? 0) > 300, 'certificate days to expire')
  t.match(metrics, /xksgate_request_duration_seconds_bucket\{le="0.25",operation="encrypt"/)
  t.match(metrics, /xksgate_hsm_operation_duration_seconds_count\{operation="encrypt",outcome="ok"\}/)
  t.match(metrics, /nodejs_eventloop_lag_seconds/)
  // The processes run one build: max-aggregated, it is 1 and not the process count.
  t.match(metrics, /^xksgate_build_info\{version="\d+\.\d+\.\d+",commit="([0-9a-f]{40}|unknown)",node_version="v\d+\.\d+\.\d+",frontend="(uws|node)",uws_build="@[\w./-]+@[\w.-]+"\} 1$/m)

  // A crashed process is replaced.
  const { client: pinned, pid } = await pinnedClient(server)
  pinned.close()
  process.kill(pid, 'SIGKILL')
  // A serving process's start (Node, HSM threads, login) took past 30 s at load average 25-30 on 2 cores.
  await until('the killed process is replaced', async () =>
    sample((await fetchText(connection.metricsUrl ?? '')).body, 'xksgate_ready') === 2 &&
    server.output().includes('serving process died'), 90_000)
  t.pass('replacement ready')

  // Readiness goes first: during shutdown.graceMs /readyz says 503 while requests are still served.
  server.process.kill('SIGTERM')
  await until('readiness off', async () => (await fetchText(`http://127.0.0.1:${healthPort}/readyz`)).status === 503, 4000)
  const during = await fetchText(`http://127.0.0.1:${healthPort}/readyz`)
  t.match(JSON.parse(during.body), { status: 'not ready', reason: 'process is draining' })
  t.equal(await server.stop(), 0, 'exit 0')
  t.notOk(fs.existsSync(path.join(server.dir, 'connection.json')), 'connection.json removed')
})
