import t from 'tap'
import { startDevServer, type DevServer } from '../helpers/dev-server'
import { TWO_CORE_SIZING, fixedEncrypt, pinnedClient } from '../helpers/cluster'
import { startRedis } from '../helpers/redis-server'
import { until } from '../helpers/until'
import { metadataFor, XksClient } from '../helpers/xks-client'

interface ReplayTally { sameProcess: number[], otherProcess: number[] }

/**
 * Until this long after the first attempt arrived (server.requestTimeoutMs 240 ms plus a 1 s margin) another
 * process cannot tell it served from in flight, and refuses a repeat with a retryable 503 instead of a 401
 * (docs/operations.md "Replay: retries and repeats"). Either way the repeat is not executed.
 */
const IN_FLIGHT_WINDOW_MS = 1240
const REFUSED = new Set([401, 503])

/** Sends one request, then replays it over fresh connections until `wanted` replays reached another process. */
async function replayAcrossProcesses (server: DevServer, wanted: number): Promise<ReplayTally> {
  const first = await pinnedClient(server)
  const request = fixedEncrypt(server.connection)
  const original = await first.client.send(request)
  first.client.close()
  if (original.status !== 200) throw new Error(`original request failed: ${original.body}`)
  const tally: ReplayTally = { sameProcess: [], otherProcess: [] }
  for (let i = 0; i < 60 && tally.otherProcess.length < wanted; i++) {
    const { client, pid } = await pinnedClient(server)
    const replay = await client.send(request)
    client.close()
    ;(pid === first.pid ? tally.sameProcess : tally.otherProcess).push(replay.status)
  }
  return tally
}

t.test('with Redis, a replay reaching another process (or another host) is rejected', async t => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const env = { ...TWO_CORE_SIZING, XKSGATE__fleet__heartbeatMs: '500' }
  const a = await startDevServer({ args: ['--processes', '2', '--redis', redis.url], env: { ...env, XKSGATE__fleet__instanceId: 'host-a' } })
  t.teardown(a.stop)
  const tally = await replayAcrossProcesses(a, 5)
  t.comment(`replays to the other process: ${tally.otherProcess.join(',')}; to the same process: ${tally.sameProcess.join(',')}`)
  t.equal(tally.otherProcess.length, 5, 'five replays reached the other process')
  t.ok(tally.otherProcess.every(status => REFUSED.has(status)), 'every replay to the other process refused (401, or 503 within the first\'s window)')
  t.ok(tally.sameProcess.every(status => status === 401), 'every replay to the same process answered 401')

  // A second "host" on the same Redis: its replay cache and fleet are shared with the first.
  const b = await startDevServer({ dir: a.dir + '-b', args: ['--processes', '1', '--redis', redis.url], env: { ...env, XKSGATE__fleet__instanceId: 'host-b' } })
  t.teardown(b.stop)
  const request = fixedEncrypt(a.connection, new Date(Date.now() - 1000))
  const clientA = new XksClient(a.connection)
  t.teardown(() => clientA.close())
  const sentAt = Date.now()
  t.equal((await clientA.send(request)).status, 200)
  const clientB = new XksClient({ ...a.connection, endpoint: b.connection.endpoint, caFile: b.connection.caFile }, 1)
  t.teardown(() => clientB.close())
  const onB = await clientB.send(request)
  t.ok(REFUSED.has(onB.status), `the same request replayed to another host is refused (${onB.status})`)
  await new Promise(resolve => setTimeout(resolve, Math.max(0, sentAt + IN_FLIGHT_WINDOW_MS + 200 - Date.now())))
  t.equal((await clientB.send(request)).status, 401, 'and 401 once the first attempt\'s window has passed')

  const health = async (): Promise<number> => Number((await clientA.send({ path: `${a.connection.uriPrefix}/health`, body: { requestMetadata: metadataFor('KmsHealthCheck') } })).json.xksProxyFleetSize)
  // host-b joins the fleet with its first heartbeat. On a timeout the assertion reports the last size seen.
  let size = 0
  await until('xksProxyFleetSize to count host-b', async () => (size = await health()) === 2).catch(() => {})
  t.equal(size, 2, 'xksProxyFleetSize counts two hosts (two processes of host-a count once)')
  t.equal(await b.stop(), 0)
  t.equal(await a.stop(), 0)
})

t.test('without Redis, several processes refuse to start unless the risk is accepted', async t => {
  await t.rejects(startDevServer({ args: ['--processes', '2'], env: TWO_CORE_SIZING }),
    /2 serving processes share this host's port without Redis[^]*allowProcessLocal/)
})

t.test('opted out (replay.allowProcessLocal), each process has its own cache: a cross-process replay gets through', async t => {
  const server = await startDevServer({ args: ['--processes', '2'], env: { ...TWO_CORE_SIZING, XKSGATE__replay__allowProcessLocal: 'true' } })
  t.teardown(server.stop)
  const tally = await replayAcrossProcesses(server, 1)
  t.comment(`control without Redis: first replay to the other process: ${tally.otherProcess.join(',')}`)
  // Later ones are caught: that process has now recorded the signature itself.
  t.same(tally.otherProcess, [200], 'the test does detect a cross-process replay')
  t.ok(tally.sameProcess.every(status => status === 401), 'same-process replays are still rejected')
  const client = new XksClient(server.connection)
  t.teardown(() => client.close())
  const health = await client.send({ path: `${server.connection.uriPrefix}/health`, body: { requestMetadata: metadataFor('KmsHealthCheck') } })
  t.equal(health.json.xksProxyFleetSize, 1, 'a fleet of one without Redis')
})
