/**
 * `hsm[].environment` end to end: the embedded default's configuration (src/dev/provision.ts) names its
 * SOFTHSM2_CONF, so the operator commands find the token with no `export`. Each
 * command runs as an operator runs it, `node dist/src/main.js …`, in a child process whose environment has no
 * SOFTHSM2_CONF at all (the test process has one: provisioning sets it).
 * test/integration/dev-module-environment.test.ts covers the serving process and `npm run dev`'s re-runs.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { DEV_TOKEN_LABEL } from '../../src/dev/provision'
import { WITHOUT_SOFTHSM2_CONF, provisionedDevDir, xksgateWithoutConf } from '../helpers/dev-dir-without-conf'

const devKeyLabels = ['decrypt_only_key', 'encrypt_only_key', 'foo', 'impotent_key', 'xksgate-health']
let dir: string
let configFile: string
t.before(async () => { ({ dir, configFile } = await provisionedDevDir(t)) })

t.test('the embedded default\'s configuration names its SOFTHSM2_CONF', async t => {
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8'))
  t.same(config.hsm.environment, { SOFTHSM2_CONF: path.join(dir, 'softhsm', 'softhsm2.conf') })
})

t.test('keys list, keys create and config check --hsm work without SOFTHSM2_CONF in the environment', async t => {
  const listed = xksgateWithoutConf(['keys', 'list', '--config', configFile, '--json'])
  t.equal(listed.status, 0, listed.stderr)
  t.equal(listed.stderr, '')
  t.same(JSON.parse(listed.stdout).keys.map((k: { label: string }) => k.label).sort(), devKeyLabels)

  const created = xksgateWithoutConf(['keys', 'create', 'bar', '--config', configFile])
  t.equal(created.status, 0, created.stderr)
  t.match(created.stdout, `on token "${DEV_TOKEN_LABEL}"`)

  const checked = xksgateWithoutConf(['config', 'check', '--config', configFile, '--hsm'])
  t.equal(checked.status, 0, checked.stderr + checked.stdout)
})

t.test('the configuration wins over a SOFTHSM2_CONF the command was started with, and says so by name only', async t => {
  const elsewhere = path.join(dir, 'elsewhere.conf')
  fs.writeFileSync(elsewhere, `directories.tokendir = ${path.join(dir, 'no-tokens')}\n`)
  const listed = xksgateWithoutConf(['keys', 'list', '--config', configFile], { ...WITHOUT_SOFTHSM2_CONF, SOFTHSM2_CONF: elsewhere })
  t.equal(listed.status, 0, listed.stderr)
  t.match(listed.stdout, /\bfoo\b/)
  t.equal(listed.stderr, 'xksgate: /hsm/environment/SOFTHSM2_CONF replaces the SOFTHSM2_CONF this command was started with\n')
})
