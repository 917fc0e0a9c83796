import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { startDevServer, testFrontend } from '../helpers/dev-server'
import { TWO_CORE_SIZING, fixedEncrypt } from '../helpers/cluster'
import { privatePm2 } from '../helpers/pm2'
import { startRedis } from '../helpers/redis-server'
import { freePort } from '../../src/dev/free-port'
import { until } from '../helpers/until'
import { XksClient } from '../helpers/xks-client'

const LOOPS = 8
/** Answers seen before the reload starts and again after it ends: every client has sent several by then. */
const SETTLED_REQUESTS = 50

// The PM2 mode follows the frontend (ecosystem.config.cjs): fork mode for uWS, cluster mode for node.
const frontend = testFrontend()
const mode = frontend === 'node' ? 'cluster' : 'fork'

t.test(`pm2 reload (${mode} mode, 2 instances, ${frontend} frontend) under continuous signed load loses no request`, async t => {
  // Provision a dev directory (token, certificate, config), then run it under PM2 instead.
  const dev = await startDevServer()
  t.equal(await dev.stop(), 0)
  const port = await freePort()
  // Two instances share the port, so they share a replay cache too (they refuse to start without one).
  const redis = await startRedis()
  t.teardown(redis.stop)
  const pm2 = privatePm2({
    XKSGATE__redis: JSON.stringify({ url: redis.url }),
    XKSGATE_CONFIG: path.join(dev.dir, 'config.json'),
    XKSGATE_PM2_NAME: 'xksgate-test',
    XKSGATE__server__port: String(port),
    XKSGATE__server__frontend: frontend,
    XKSGATE__metrics__port: String(await freePort()),
    XKSGATE__log__level: 'warn',
    ...TWO_CORE_SIZING,
    SOFTHSM2_CONF: path.join(dev.dir, 'softhsm', 'softhsm2.conf'),
  })
  t.teardown(pm2.kill)
  await pm2.cmd('start', 'ecosystem.config.cjs')
  t.teardown(async () => { await pm2.cmd('delete', 'xksgate-test').catch(() => '') })
  // pm2 start can return before the second instance is online on a busy machine.
  await until('two instances online', async () => (await pm2.pids('xksgate-test')).length === 2, 30_000)
  const before = await pm2.pids('xksgate-test')
  t.equal(before.length, 2, 'two instances online')
  t.match(await pm2.cmd('jlist'), `"exec_mode":"${mode}_mode"`, `PM2 runs them in ${mode} mode`)

  const connection = { ...dev.connection, endpoint: `https://127.0.0.1:${port}` }
  const counts = { ok: 0, failed: 0, errors: [] as string[] }
  const stopLoad = new AbortController()
  const loops = Array.from({ length: LOOPS }, async () => {
    const client = new XksClient(connection, 1)
    while (!stopLoad.signal.aborted) {
      try {
        const res = await client.send(fixedEncrypt(connection))
        if (res.status === 200) counts.ok++
        else { counts.failed++; counts.errors.push(`${res.status} ${res.body}`) }
      } catch (err) {
        counts.failed++
        counts.errors.push((err as Error).message)
      }
    }
    client.close()
  })
  let beforeReload = 0
  let afterReload = 0
  let reloadMs = 0
  try {
    // Every client is sending before the reload starts, and goes on sending to the new instances after it.
    await until('traffic before the reload', () => counts.ok >= SETTLED_REQUESTS, 30_000)
    beforeReload = counts.ok
    const started = Date.now()
    await pm2.cmd('reload', 'xksgate-test')
    reloadMs = Date.now() - started
    afterReload = counts.ok
    await until('traffic after the reload', () => counts.ok >= afterReload + SETTLED_REQUESTS, 30_000)
  } finally {
    stopLoad.abort()
    await Promise.all(loops)
  }
  const after = await pm2.pids('xksgate-test')
  t.comment(`pm2 reload took ${reloadMs} ms; requests: ${counts.ok} ok (${afterReload - beforeReload} during the reload), ${counts.failed} failed`)
  t.equal(after.length, 2, 'two instances online after the reload')
  t.ok(after.every(pid => !before.includes(pid)), 'both instances were replaced')
  t.ok(afterReload > beforeReload, 'requests were answered while the instances were being replaced')
  t.equal(counts.failed, 0, `no request failed: ${counts.errors.slice(0, 5).join(' | ')}`)
  await pm2.cmd('delete', 'xksgate-test')
  fs.rmSync(dev.dir, { recursive: true, force: true })
})
