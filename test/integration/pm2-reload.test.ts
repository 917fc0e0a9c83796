import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { startDevServer } from '../helpers/dev-server'
import { TWO_CORE_SIZING, fixedEncrypt } from '../helpers/cluster'
import { privatePm2 } from '../helpers/pm2'
import { freePort } from '../../src/dev/free-port'
import { XksClient } from '../helpers/xks-client'

const LOOPS = 8

t.test('pm2 reload (fork mode, 2 instances) under continuous signed load loses no request', async t => {
  // Provision a dev directory (token, certificate, config), then run it under PM2 instead.
  const dev = await startDevServer()
  t.equal(await dev.stop(), 0)
  const port = await freePort()
  const pm2 = privatePm2({
    XKSGATE_CONFIG: path.join(dev.dir, 'config.json'),
    XKSGATE_PM2_NAME: 'xksgate-test',
    XKSGATE__server__port: String(port),
    XKSGATE__metrics__port: String(await freePort()),
    XKSGATE__log__level: 'warn',
    ...TWO_CORE_SIZING,
    SOFTHSM2_CONF: path.join(dev.dir, 'softhsm', 'softhsm2.conf'),
  })
  t.teardown(pm2.kill)
  await pm2.cmd('start', 'ecosystem.config.cjs')
  t.teardown(async () => { await pm2.cmd('delete', 'xksgate-test').catch(() => '') })
  const before = await pm2.pids('xksgate-test')
  t.equal(before.length, 2, 'two instances online')

  const connection = { ...dev.connection, endpoint: `https://127.0.0.1:${port}` }
  const counts = { ok: 0, failed: 0, errors: [] as string[] }
  let running = true
  const loops = Array.from({ length: LOOPS }, async () => {
    const client = new XksClient(connection, 1)
    while (running) {
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
  await new Promise(resolve => setTimeout(resolve, 500))
  const beforeReload = counts.ok
  const started = Date.now()
  await pm2.cmd('reload', 'xksgate-test')
  const reloadMs = Date.now() - started
  await new Promise(resolve => setTimeout(resolve, 500))
  running = false
  await Promise.all(loops)
  const after = await pm2.pids('xksgate-test')
  t.comment(`pm2 reload took ${reloadMs} ms; requests: ${counts.ok} ok (${counts.ok - beforeReload} from the reload on), ${counts.failed} failed`)
  t.equal(after.length, 2, 'two instances online after the reload')
  t.ok(after.every(pid => !before.includes(pid)), 'both instances were replaced')
  t.ok(counts.ok > 100, 'traffic flowed throughout')
  t.equal(counts.failed, 0, `no request failed: ${counts.errors.slice(0, 5).join(' | ')}`)
  await pm2.cmd('delete', 'xksgate-test')
  fs.rmSync(dev.dir, { recursive: true, force: true })
})
