import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { testFrontend, type Connection } from '../helpers/dev-server'
import { RELOAD_TEST_BUDGET, TWO_CORE_SIZING } from '../helpers/cluster'
import { privatePm2 } from '../helpers/pm2'
import { startRedis } from '../helpers/redis-server'
import { freePort } from '../../src/dev/free-port'
import { DEV_KEYS, DEV_URI_PREFIX, provisionDevEnvironment } from '../../src/dev/provision'
import { until } from '../helpers/until'
import { signedLoad } from '../helpers/signed-load'

const LOOPS = 8
/** Answers seen before the reload starts and again after it ends: every client has sent several by then. */
const SETTLED_REQUESTS = 50

// The PM2 mode follows the frontend (ecosystem.config.cjs): fork mode for uWS, cluster mode for node.
const frontend = testFrontend()
const mode = frontend === 'node' ? 'cluster' : 'fork'

t.test(`pm2 reload (${mode} mode, 2 instances, ${frontend} frontend) under continuous signed load loses no request, and an invalid file leaves the app serving`, async t => {
  // A dev directory (token, certificate, config) as `npm run dev` provisions it, run under PM2 instead. Provisioned
  // directly: starting and stopping the dev CLI first only cost a proxy start (dev-cli.test.ts tests the CLI itself).
  const devDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-pm2-dev-'))
  const port = await freePort()
  const provisioned = await provisionDevEnvironment(devDir, port)
  // Any region: the dev configuration has no allowedRegions.
  const connection: Connection = {
    endpoint: `https://127.0.0.1:${port}`, uriPrefix: DEV_URI_PREFIX, region: 'us-east-1', keys: DEV_KEYS, caFile: provisioned.certFile,
    accessKeyId: provisioned.accessKeyId, secretAccessKey: provisioned.secretAccessKey,
  }
  // Two instances share the port, so they share a replay cache too (they refuse to start without one).
  const redis = await startRedis()
  t.teardown(redis.stop)
  const pm2 = privatePm2({
    XKSGATE__redis: JSON.stringify({ url: redis.url }),
    XKSGATE_CONFIG: provisioned.configFile,
    XKSGATE_PM2_NAME: 'xksgate-test',
    XKSGATE__server__port: String(port),
    XKSGATE__server__frontend: frontend,
    XKSGATE__metrics__port: String(await freePort()),
    XKSGATE__log__level: 'warn',
    ...TWO_CORE_SIZING,
    ...RELOAD_TEST_BUDGET,
    SOFTHSM2_CONF: path.join(devDir, 'softhsm', 'softhsm2.conf'),
  })
  t.teardown(pm2.kill)
  await pm2.cmd('start', 'ecosystem.config.cjs')
  t.teardown(async () => { await pm2.cmd('delete', 'xksgate-test').catch(() => '') })
  // pm2 start can return before the second instance is online on a busy machine.
  await until('two instances online', async () => (await pm2.pids('xksgate-test')).length === 2, 30_000)
  const before = await pm2.pids('xksgate-test')
  t.equal(before.length, 2, 'two instances online')
  t.match(await pm2.cmd('jlist'), `"exec_mode":"${mode}_mode"`, `PM2 runs them in ${mode} mode`)

  const load = signedLoad(connection, { accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretAccessKey }, LOOPS, 100)
  let beforeReload = 0
  let afterReload = 0
  let reloadMs = 0
  const configFile = provisioned.configFile
  const validConfig = fs.readFileSync(configFile, 'utf8')
  const outLog = (): string => fs.readFileSync(path.join(pm2.home, 'logs', 'xksgate-test-out.log'), 'utf8')
  const REFUSED = 'configuration refused; serving the configuration a running instance of this PM2 app validated. Fix the file, then pm2 reload ecosystem.config.cjs'
  let viaFile = ''
  let replaced: number[] = []
  let byName: number[] = []
  let viaFileMissingKey = ''
  try {
    // Every client is sending before the reload starts, and goes on sending to the new instances after it.
    await until('traffic before the reload', () => load.counts.ok >= SETTLED_REQUESTS, 30_000)
    beforeReload = load.counts.ok
    const started = Date.now()
    await pm2.cmd('reload', 'xksgate-test')
    reloadMs = Date.now() - started
    afterReload = load.counts.ok
    await until('traffic after the reload', () => load.counts.ok >= afterReload + SETTLED_REQUESTS, 30_000)
    replaced = await pm2.pids('xksgate-test')

    // An invalid file: the reload from the ecosystem file is refused before PM2 touches an instance ...
    const invalid = JSON.parse(validConfig) as Record<string, any>
    invalid.keyStores[0].credentials[0].accessKeyId = 'not-an-access-key'
    fs.writeFileSync(configFile, JSON.stringify(invalid))
    viaFile = await pm2.cmd('reload', 'ecosystem.config.cjs').then(out => `exit 0: ${out}`, (err: { stdout: string, stderr: string }) => err.stdout + err.stderr)
    t.same(await pm2.pids('xksgate-test'), replaced, 'pm2 reload ecosystem.config.cjs with an invalid file replaces nothing')
    // A file that validates but names a key the token lacks would crash-loop every instance: refused the same way.
    const missingKey = JSON.parse(validConfig) as Record<string, any>
    missingKey.keyStores[0].keys.ghost = { label: 'no-such-key' }
    fs.writeFileSync(configFile, JSON.stringify(missingKey))
    viaFileMissingKey = await pm2.cmd('reload', 'ecosystem.config.cjs').then(out => `exit 0: ${out}`, (err: { stdout: string, stderr: string }) => err.stdout + err.stderr)
    t.same(await pm2.pids('xksgate-test'), replaced, 'pm2 reload ecosystem.config.cjs with a missing key replaces nothing')
    fs.writeFileSync(configFile, JSON.stringify(invalid))
    // ... and by name, each restarted instance serves what its running sibling validated.
    const servedBefore = load.counts.ok
    await pm2.cmd('reload', 'xksgate-test')
    await until('traffic after the reload by name', () => load.counts.ok >= servedBefore + SETTLED_REQUESTS, 30_000)
    byName = await pm2.pids('xksgate-test')
  } finally {
    await load.stop()
    fs.writeFileSync(configFile, validConfig)
  }
  const { counts } = load
  t.comment(`pm2 reload took ${reloadMs} ms; requests through 2 reloads and 1 refusal: ${counts.ok} ok (${afterReload - beforeReload} during the first reload), ${counts.failed} failed`)
  t.equal(replaced.length, 2, 'two instances online after the reload')
  t.ok(replaced.every(pid => !before.includes(pid)), 'both instances were replaced')
  t.ok(afterReload > beforeReload, 'requests were answered while the instances were being replaced')
  t.match(viaFileMissingKey, /not reloaded, every instance keeps running as it is: xksgate config check: key \/keyStores\/0\/keys\/ghost: no secret key labelled "no-such-key"/, 'PM2 prints the missing key')
  t.match(viaFile, /ecosystem\.config\.cjs malformated[\s\S]*not reloaded, every instance keeps running as it is: xksgate: invalid configuration:\n {2}\/keyStores\/0\/credentials\/0\/accessKeyId: /, 'PM2 prints why, naming the field')
  if (byName.length !== 2) t.comment(outLog().slice(-6000) + fs.readFileSync(path.join(pm2.home, 'logs', 'xksgate-test-error.log'), 'utf8').slice(-3000))
  t.equal(byName.length, 2, 'two instances online after the reload by name')
  t.ok(byName.every(pid => !replaced.includes(pid)), 'both were restarted')
  const refusals = outLog().split('\n').filter(line => line.includes(REFUSED)).map(line => JSON.parse(line) as { problems: string[], pid: number })
  t.same(refusals.map(r => r.pid).sort(), [...byName].sort(), 'each restarted instance says its file was refused')
  t.match(refusals[0]?.problems, [/^\/keyStores\/0\/credentials\/0\/accessKeyId: /], 'naming the field')
  t.equal(counts.failed, 0, `no request failed: ${counts.errors.join(' | ')}`)
  await pm2.cmd('delete', 'xksgate-test')
  fs.rmSync(devDir, { recursive: true, force: true })
})
