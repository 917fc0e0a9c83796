/**
 * `hsm[].environment` from `npm run dev`'s provisioning (src/dev/provision.ts): the production entry point serves
 * from the embedded default's configuration with no SOFTHSM2_CONF in its environment; a directory made before the
 * field existed gains it on the next run; every backend of `--backends 2` carries it. The commands run as an
 * operator runs them, in child processes without SOFTHSM2_CONF (the test process has one: provisioning sets it).
 * test/integration/cli-module-environment.test.ts covers the operator commands.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { freePort } from '../../src/dev/free-port'
import { provisionDevEnvironment } from '../../src/dev/provision'
import { WITHOUT_SOFTHSM2_CONF, provisionedDevDir, xksgateWithoutConf } from '../helpers/dev-dir-without-conf'
import { MAIN } from '../helpers/main-process'

let dir: string
let configFile: string
t.before(async () => { ({ dir, configFile } = await provisionedDevDir(t)) })

t.test('the production entry point serves from the embedded default\'s configuration without SOFTHSM2_CONF', async t => {
  // A free metrics port, not the default 9464, which any other proxy on the host may hold (at 04:01 one did: "startup
  // failed: /metrics/port: cannot listen on 127.0.0.1:9464: the port is in use").
  const env = { ...WITHOUT_SOFTHSM2_CONF, XKSGATE__metrics__port: String(await freePort()) }
  const child = spawn(process.execPath, [MAIN, '--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const ready = new Promise<boolean>(resolve => {
    const timer = setTimeout(() => resolve(false), 60_000)
    const seen = (d: Buffer): void => {
      output += d.toString()
      if (output.includes('"msg":"ready"')) {
        clearTimeout(timer)
        resolve(true)
      }
    }
    child.stdout.on('data', seen)
    child.stderr.on('data', seen)
    child.once('exit', () => { clearTimeout(timer); resolve(false) })
  })
  const exited = new Promise(resolve => child.once('exit', resolve))
  t.ok(await ready, output)
  t.notMatch(output, /replaces an environment variable/, 'nothing replaced: the variable was not set')
  child.kill('SIGTERM')
  await exited
})

t.test('a directory made before the field existed gains it on the next run, its key stores kept', async t => {
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8'))
  delete config.hsm.environment
  config.keyStores[0].keys.bar = { label: 'foo', usage: ['ENCRYPT'] }
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2))
  const old = xksgateWithoutConf(['keys', 'list', '--config', configFile])
  t.equal(old.status, 2, 'without the field the token is not found (the old behaviour)')
  t.match(old.stderr, /SOFTHSM2_CONF, which is not set \(set it in \/hsm\/environment\)/)

  await provisionDevEnvironment(dir, 0)
  const again = JSON.parse(fs.readFileSync(configFile, 'utf8'))
  t.same(again.hsm.environment, { SOFTHSM2_CONF: path.join(dir, 'softhsm', 'softhsm2.conf') })
  t.same(again.keyStores, config.keyStores, 'the key store, with the key added above, is kept')
  const described = xksgateWithoutConf(['keys', 'describe', 'bar', '--config', configFile])
  t.equal(described.status, 0, described.stderr)
})

t.test('with --backends 2 every backend carries the same SOFTHSM2_CONF', async t => {
  const pairDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-modenv2-'))
  t.teardown(() => fs.rmSync(pairDir, { recursive: true, force: true }))
  await provisionDevEnvironment(pairDir, 0, { backends: 2 })
  const pairFile = path.join(pairDir, 'config.json')
  const conf = path.join(pairDir, 'softhsm-2', 'softhsm2.conf')
  t.same(JSON.parse(fs.readFileSync(pairFile, 'utf8')).hsm.map((b: { environment: unknown }) => b.environment), [{ SOFTHSM2_CONF: conf }, { SOFTHSM2_CONF: conf }])
  const listed = xksgateWithoutConf(['keys', 'list', '--config', pairFile, '--hsm', 'hsm-2'])
  t.equal(listed.status, 0, listed.stderr)
  t.match(listed.stdout, /\bfoo\b/)
})
