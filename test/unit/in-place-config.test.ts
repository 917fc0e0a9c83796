import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/load'
import { loadInPlaceReplacement } from '../../src/runtime/in-place-config'
import { configFixture, FIXTURE_PIN } from '../helpers/config-fixture'

const f = configFixture()
t.teardown(f.cleanup)
process.env.TEST_PIN = FIXTURE_PIN
const file = path.join(f.dir, 'config.json')
const write = (config: Record<string, any>): void => fs.writeFileSync(file, JSON.stringify(config))
write(f.config)
const running = loadConfig({ file })
const variant = (change: (config: Record<string, any>) => void): Record<string, any> => {
  const config = structuredClone(f.config)
  change(config)
  return config
}
const problems = (config: Record<string, any>): string[] => {
  write(config)
  try {
    loadInPlaceReplacement(file, running)
    return []
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return err.problems
  }
}
const restart = (field: string): string => `${field}: changed, which one serving process (cluster.processes 1) applies only at a restart; nothing was applied`

t.test('what one process applies in place passes: key stores, certificate files, limits, log level, health identity', async t => {
  t.same(problems(f.config), [], 'the same file')
  t.same(problems(variant(c => {
    c.keyStores[0].credentials.push({ accessKeyId: 'BKIAI2SFODNN7EXAMPLE', secretAccessKey: { file: 'secret' } })
    c.keyStores[0].keys = { foo: { label: 'foo.v2', version: 2, decryptOnlyVersions: [{ version: 1, label: 'foo' }] }, bar: { label: 'bar', disabled: true } }
    c.keyStores[0].quota = { rate: 100, burst: 200 }
    c.limits = { maxPlaintextBytes: 65536 }
    c.log = { level: 'debug' }
    c.health.proxyVendor = 'Example'
  })), [])
  const copy = path.join(f.dir, 'tls', 'copy-cert.pem')
  fs.copyFileSync(path.join(f.dir, f.config.server.tls.certFile), copy)
  t.same(problems(variant(c => { c.server.tls.certFile = path.relative(f.dir, copy) })), [], 'another certificate file')
})

t.test('what takes a restart is refused by field, a secret without its value', async t => {
  process.env.OTHER_PIN = '99999999'
  t.same(problems(variant(c => { c.hsm.pin = { env: 'OTHER_PIN' } })), [restart('/hsm/pin')], 'a PIN named as written (/hsm, one backend)')
  t.same(problems(variant(c => { c.hsm.threads = 3; c.server.port = 9443; c.auth = { maxSkewSeconds: 60 } })).sort(),
    [restart('/server/port'), restart('/hsm/threads'), restart('/auth/maxSkewSeconds')].sort())
  t.same(problems(variant(c => { c.redis = { url: 'redis://:hunter2@127.0.0.1:6379' } })), [restart('/redis')], 'Redis added, no URL printed')
  t.same(problems(variant(c => { c.hsm = [c.hsm, { tokenLabel: 'tok2', pin: { env: 'TEST_PIN' } }] })), [restart('/hsm')], 'a backend added')
})

t.test('a key store added beyond the replay table of the start is refused; an invalid file as at startup', async t => {
  const added = problems(variant(c => { c.keyStores.push({ ...c.keyStores[0], name: 'b', uriPrefix: '/b/kms/xks/v1', credentials: [{ accessKeyId: 'CKIAI2SFODNN7EXAMPLE', secretAccessKey: { file: 'secret' } }], keys: { baz: { label: 'baz' } } }) }))
  t.match(added, [/^\/keyStores: 2 key stores need a replay table of \d+ signatures, and this process sized it for \d+ at its start; adding a key store takes a restart$/])
  t.match(problems(variant(c => { c.keyStores[0].credentials[0].accessKeyId = 'lower' })), [/^\/keyStores\/0\/credentials\/0\/accessKeyId: /])
})
