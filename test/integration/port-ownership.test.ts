/**
 * Only one fleet serves a port (src/server/port-ownership.ts). uWS listens with SO_REUSEPORT, so without the claim
 * a second, unrelated proxy on a port already served starts silently and the kernel splits KMS traffic between the
 * two. The processes of one cluster primary still share the port; PM2 siblings are covered by pm2-reload.test.ts.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import type { us_listen_socket } from '@trufflesuite/uws-js-unofficial'
import { freePort } from '../../src/dev/free-port'
import { claimPorts, fleetOf, PortInUseError, type PortClaims } from '../../src/server/port-ownership'
import { loadNativeUws } from '../../src/server/uws-native'
import { TWO_CORE_SIZING, fetchText, sample, type RuntimeConnection } from '../helpers/cluster'
import { startDevServer, type DevServer } from '../helpers/dev-server'
import { repoRoot } from '../helpers/paths'
import { XksClient } from '../helpers/xks-client'

const run = promisify(execFile)

/** A uWS listener (SO_REUSEPORT, as xksgate's own), closed in teardown. */
async function uwsListener (t: Test, port: number): Promise<void> {
  const uws = loadNativeUws()
  const socket = await new Promise<us_listen_socket>((resolve, reject) => {
    uws.App().listen('127.0.0.1', port, s => { if (s === false) reject(new Error(`cannot listen on ${port}`)); else resolve(s) })
  })
  t.teardown(() => uws.us_listen_socket_close(socket))
}

const A = { id: 'fleet A', description: 'fleet A' }
const B = { id: 'fleet B', description: 'fleet B' }
const portOf = (port: number): Array<{ field: string, host: string, port: number }> => [{ field: '/server/port', host: '127.0.0.1', port }]

async function refusal (claim: Promise<PortClaims>): Promise<string> {
  const err = await claim.then(() => undefined, (e: unknown) => e)
  if (!(err instanceof PortInUseError)) throw new Error(`expected a PortInUseError, got ${String(err)}`)
  return err.message
}

t.test('claims', async t => {
  await t.test('a port held by a program that is not xksgate is refused, naming the holder', async t => {
    const port = await freePort()
    await uwsListener(t, port)
    const message = await refusal(claimPorts(A, portOf(port)))
    t.match(message, `/server/port: port ${port} on 127.0.0.1 is already in use by pid ${process.pid} (`)
  })

  await t.test('siblings share a port; another fleet is refused, also after the announcer left', async t => {
    const port = await freePort()
    const first = await claimPorts(A, portOf(port))
    await uwsListener(t, port)
    const sibling = await claimPorts(A, portOf(port))
    t.teardown(() => sibling.release())
    t.pass('a second member of fleet A shares the port')
    t.match(await refusal(claimPorts(B, portOf(port))), `/server/port: port ${port} on 127.0.0.1 is already served by fleet A (pid ${process.pid})`)
    // The announcer goes (a PM2 reload stops instance 0); the sibling still serves and takes over the announcement.
    first.release()
    t.match(await refusal(claimPorts(B, portOf(port))), 'is already served by fleet A', 'still refused: the sibling announces now')
    const newcomer = await claimPorts(A, portOf(port))
    t.teardown(() => newcomer.release())
    t.pass('a new member of fleet A (the restarted instance 0) is accepted')
  })

  await t.test('a released, unbound port is free for any fleet', async t => {
    const port = await freePort()
    const a = await claimPorts(A, portOf(port))
    a.release()
    const b = await claimPorts(B, portOf(port))
    b.release()
    t.pass('fleet B claimed it')
  })

  await t.test('port 0 needs no claim', async t => {
    const claims = await claimPorts(A, portOf(0))
    claims.release()
    t.pass()
  })
})

t.test('fleets: the instances of one PM2 app with one config are one fleet, any other start is its own', async t => {
  const pm2 = (name: string, pmId: string): NodeJS.ProcessEnv => ({ pm_id: pmId, name, PM2_HOME: '/srv/pm2' })
  t.equal(fleetOf('/etc/x.json', pm2('xksgate', '0')).id, fleetOf('/etc/x.json', pm2('xksgate', '1')).id, 'instances 0 and 1')
  t.not(fleetOf('/etc/x.json', pm2('xksgate', '0')).id, fleetOf('/etc/x.json', pm2('other', '1')).id, 'another app')
  t.not(fleetOf('/etc/x.json', pm2('xksgate', '0')).id, fleetOf('/etc/y.json', pm2('xksgate', '1')).id, 'another config')
  t.not(fleetOf('/etc/x.json', {}).id, fleetOf('/etc/x.json', {}).id, 'two starts outside PM2, even with one config')
  t.equal(fleetOf('/etc/x.json', pm2('xksgate', '0')).description, 'PM2 app "xksgate" with config /etc/x.json')
})

/** Starts a second, unrelated dev proxy (its own directory) on the port `holder` serves; it must exit non-zero. */
async function secondProxyRefused (t: Test, holder: DevServer, port: number): Promise<string> {
  const dir = `${holder.dir}-second`
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const err = await startDevServer({ dir, args: ['--port', String(port)] }).then(async s => { await s.stop(); return undefined }, (e: unknown) => e as Error)
  if (err === undefined) throw new Error('the second proxy started')
  t.match(err.message, /dev server exited with 1/, 'exits non-zero')
  return err.message
}

t.test('a second proxy on a port a dev proxy serves exits non-zero, and the first one goes on serving', async t => {
  const port = await freePort()
  const first = await startDevServer({ args: ['--port', String(port)] })
  t.teardown(async () => {
    await first.stop()
    fs.rmSync(first.dir, { recursive: true, force: true })
  })
  const output = await secondProxyRefused(t, first, port)
  t.match(output, `xksgate dev: /server/port: port ${port} on 127.0.0.1 is already served by xksgate with config ${path.join(first.dir, 'config.json')} ` +
    `(pid ${first.process.pid})`)

  // main.js with the first proxy's very config file: still another fleet, refused before it opens the HSM.
  const main = await run(process.execPath, [path.join(repoRoot, process.env.XKSGATE_DIST ?? 'dist', 'src/main.js'), '--config', path.join(first.dir, 'config.json')], {
    env: { ...process.env, XKSGATE__cluster__processes: '1', SOFTHSM2_CONF: path.join(first.dir, 'softhsm', 'softhsm2.conf') },
  }).then(() => undefined, (e: unknown) => e as { code: number, stderr: string })
  t.equal(main?.code, 1, 'main.js exits 1')
  t.match(main?.stderr, new RegExp(`^xksgate: /server/port: port ${port} on 127.0.0.1 is already served by xksgate with config .* \\(pid ${first.process.pid}\\)`))
  t.notMatch(main?.stderr, /\n\s+at /, 'a message, not a stack trace')

  const client = new XksClient(first.connection)
  t.teardown(() => client.close())
  t.equal((await client.send({ method: 'GET', path: '/ping', unsigned: true })).status, 200, 'the first proxy answers /ping')
  const health = await client.send({ path: `${first.connection.uriPrefix}/health`, body: { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: crypto.randomUUID() } } })
  t.equal(health.status, 200, 'and a signed GetHealthStatus')
  t.equal(first.process.exitCode, null, 'the first proxy still runs')
})

t.test('the two processes of one cluster primary share the port; a second proxy on it is refused', async t => {
  const port = await freePort()
  const cluster = await startDevServer({ args: ['--port', String(port), '--processes', '2'], env: { ...TWO_CORE_SIZING, XKSGATE__replay__allowProcessLocal: 'true' } })
  t.teardown(async () => {
    await cluster.stop()
    fs.rmSync(cluster.dir, { recursive: true, force: true })
  })
  const metrics = (await fetchText((cluster.connection as RuntimeConnection).metricsUrl ?? '')).body
  t.equal(sample(metrics, 'xksgate_ready'), 2, 'both serving processes bound the port and are ready')
  const output = await secondProxyRefused(t, cluster, port)
  t.match(output, `/server/port: port ${port} on 127.0.0.1 is already served by xksgate with config ${path.join(cluster.dir, 'config.json')} (pid ${cluster.process.pid})`, 'named: the primary')
})
