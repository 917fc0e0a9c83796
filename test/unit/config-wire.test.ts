import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { fromWire, toWire } from '../../src/cluster/config-wire'
import { materializeTls, readTlsMaterial } from '../../src/cluster/tls-material'
import { loadReplacement, validateForCluster } from '../../src/cluster/validated-config'
import { ConfigError, validateConfig } from '../../src/config/load'
import { Secret } from '../../src/config/secret'
import { ensureSelfSignedCert } from '../../src/dev/tls-cert'
import { FIXTURE_PIN, FIXTURE_SECRET, configFixture } from '../helpers/config-fixture'

t.test('the wire form carries a validated config with its secrets and TLS bytes, and nothing else reads them', async t => {
  const f = configFixture()
  t.teardown(f.cleanup)
  f.config.redis = { url: 'redis://127.0.0.1:6379', password: 'redis-password-value' }
  const config = validateConfig(f.config, { baseDir: f.dir, env: f.env })
  const { tls } = validateForCluster(config, 1)
  // What travels is JSON (Node's IPC serialisation): a round trip through JSON must keep every value.
  const wire = JSON.parse(JSON.stringify(toWire(config, tls))) as ReturnType<typeof toWire>
  const back = fromWire(wire)
  t.equal(back.config.hsm[0].pin.reveal(), FIXTURE_PIN)
  t.equal(back.config.keyStores[0].credentials[0].secretAccessKey.reveal(), FIXTURE_SECRET)
  t.equal(back.config.redis?.password?.reveal(), 'redis-password-value')
  t.ok(back.config.hsm[0].pin instanceof Secret, 'secrets are Secrets again')
  t.equal(JSON.stringify(back.config).includes(FIXTURE_PIN), false, 'and print redacted')
  t.same(JSON.parse(JSON.stringify(back.config)), JSON.parse(JSON.stringify(config)), 'every other field as validated')
  t.ok(Object.isFrozen(back.config.keyStores[0].credentials[0]), 'frozen like a loaded config')
  t.equal(back.tls.certPem, fs.readFileSync(config.server.tls.certFile, 'utf8'))
  t.equal(back.tls.keyPem.reveal(), fs.readFileSync(config.server.tls.keyFile, 'utf8'))

  // The serving process writes the bytes to a private directory for the listener, and removes them.
  const files = materializeTls(back.config, back.tls)
  const dir = path.dirname(files.config.server.tls.keyFile)
  t.equal(fs.statSync(dir).mode & 0o777, 0o700)
  t.equal(fs.statSync(files.config.server.tls.keyFile).mode & 0o777, 0o600)
  t.equal(fs.readFileSync(files.config.server.tls.certFile, 'utf8'), back.tls.certPem)
  files.remove()
  t.notOk(fs.existsSync(dir), 'removed')
})

t.test('a certificate and key that stop matching between the check and the read are refused, naming /server/tls', async t => {
  const f = configFixture()
  t.teardown(f.cleanup)
  const config = validateConfig(f.config, { baseDir: f.dir, env: f.env })
  const other = ensureSelfSignedCert(path.join(f.dir, 'other'))
  fs.copyFileSync(other.keyFile, config.server.tls.keyFile)
  t.throws(() => readTlsMaterial(config), new ConfigError([`/server/tls: ${config.server.tls.certFile} and ${config.server.tls.keyFile} changed while being read; try again`]))
})

t.test('the replay layout is checked for the cluster as at startup', async t => {
  const f = configFixture()
  t.teardown(f.cleanup)
  const config = validateConfig(f.config, { baseDir: f.dir, env: f.env })
  t.throws(() => validateForCluster(config, 2), /\/redis: 2 serving processes share this host's port without Redis/)
})

t.test('a reload refuses what takes a restart, and an expired certificate, naming the fields', async t => {
  const f = configFixture()
  t.teardown(f.cleanup)
  const file = path.join(f.dir, 'config.json')
  fs.writeFileSync(file, JSON.stringify(f.config))
  const running = validateConfig(f.config, { baseDir: f.dir, env: f.env })
  process.env.TEST_PIN = f.env.TEST_PIN
  t.teardown(() => { delete process.env.TEST_PIN })
  t.equal(loadReplacement(file, running, 1).config.server.port, 8443, 'the same file is a valid replacement')
  fs.writeFileSync(file, JSON.stringify({ ...f.config, server: { ...f.config.server, port: 9443 }, cluster: { processes: 2 } }))
  t.throws(() => loadReplacement(file, running, 1), new ConfigError([
    '/server/port: changed from 8443 to 9443, which takes a restart, not a reload',
    '/cluster/processes: changed from 1 to 2, which takes a restart, not a reload',
  ]))
})
