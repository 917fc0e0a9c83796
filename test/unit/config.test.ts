import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig, validateConfig } from '../../src/config/load'
import { createCa, ensureSelfSignedCert, issueClientCert } from '../../src/dev/tls-cert'
import { FIXTURE_SECRET as SECRET, configFixture } from '../helpers/config-fixture'
import { repoRoot } from '../helpers/paths'

function fixture (): { dir: string, config: Record<string, any> } {
  const f = configFixture()
  t.teardown(f.cleanup)
  return f
}

function problemsOf (fn: () => unknown): string[] {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

t.test('a minimal config gets every default, resolved secrets and absolute paths', async t => {
  const { dir, config } = fixture()
  const loaded = validateConfig(config, { baseDir: dir, env: { TEST_PIN: '1234' } })
  t.equal(loaded.server.port, 8443)
  t.equal(loaded.server.maxBodyBytes, 65536)
  t.equal(loaded.hsm[0].threads, 1)
  t.equal(loaded.hsm[0].pin.reveal(), '1234')
  t.equal(loaded.limits.maxPlaintextBytes, 8192)
  t.equal(loaded.auth.maxSkewSeconds, 300)
  t.equal(loaded.keyStores[0].credentials[0].secretAccessKey.reveal(), SECRET, 'trailing newline of a secret file is dropped')
  t.equal(loaded.keyStores[0].keys.foo.disabled, undefined, 'absent means enabled')
  t.equal(loaded.server.tls.certFile, path.join(dir, 'tls', 'cert.pem'))
  t.ok(Object.isFrozen(loaded.keyStores[0].credentials[0]), 'deeply frozen')
})

t.test('loadConfig reads a file and applies XKSGATE__ environment overrides', async t => {
  const { dir, config } = fixture()
  const file = path.join(dir, 'config.json')
  fs.writeFileSync(file, JSON.stringify(config))
  const loaded = loadConfig({ file, env: { TEST_PIN: 'p', XKSGATE__server__port: '9443', XKSGATE__keyStores__0__name: 'prod' } })
  t.equal(loaded.server.port, 9443)
  t.equal(loaded.keyStores[0].name, 'prod')
  t.match(problemsOf(() => loadConfig({ file: path.join(dir, 'missing.json') }))[0], /missing\.json/)
})

const cases: Array<[string, (c: Record<string, any>) => void, RegExp]> = [
  ['bad access key id', c => { c.keyStores[0].credentials[0].accessKeyId = 'lowercase-not-allowed' }, /\/keyStores\/0\/credentials\/0\/accessKeyId/],
  ['short secret', c => { c.keyStores[0].credentials[0].secretAccessKey = 'tooShort' }, /\/keyStores\/0\/credentials\/0\/secretAccessKey: must be 43 to 64/],
  ['unset env secret', c => { c.hsm.pin = { env: 'NOT_SET_ANYWHERE' } }, /\/hsm\/pin: environment variable NOT_SET_ANYWHERE is not set/],
  ['unreadable secret file', c => { c.keyStores[0].credentials[0].secretAccessKey = { file: 'nope' } }, /secretAccessKey: cannot read .*nope: ENOENT/],
  ['bad uri prefix', c => { c.keyStores[0].uriPrefix = '/a/b/kms/xks/v1/' }, /\/keyStores\/0\/uriPrefix/],
  ['unknown field', c => { c.server.colour = 'blue' }, /\/server/],
  ['port out of range', c => { c.server.port = 70000 }, /\/server\/port/],
  ['limits below the spec minimum', c => { c.limits = { maxPlaintextBytes: 4000 } }, /\/limits\/maxPlaintextBytes/],
  ['plaintext limit one byte below the spec minimum', c => { c.limits = { maxPlaintextBytes: 4299 } }, /\/limits\/maxPlaintextBytes/],
  ['fractional plaintext limit', c => { c.limits = { maxPlaintextBytes: 4300.5 } }, /\/limits\/maxPlaintextBytes/],
  ['AAD limit one byte below the spec minimum', c => { c.limits = { maxAadBytes: 8191 } }, /\/limits\/maxAadBytes/],
  ['AAD limit past the u16 length prefix', c => { c.limits = { maxAadBytes: 65536 } }, /\/limits\/maxAadBytes/],
  ['health interval above one minute', c => { c.health.intervalMs = 61000 }, /\/health\/intervalMs/],
  ['bad key id', c => { c.keyStores[0].keys = { 'bad/id': { label: 'x' } } }, /\/keyStores\/0\/keys/],
  ['missing certificate', c => { c.server.tls.certFile = 'absent.pem' }, /^\/server\/tls\/certFile: cannot read .*absent\.pem: ENOENT$/],
  ['certificate file without a certificate', c => { c.server.tls.certFile = 'secret' }, /^\/server\/tls\/certFile: .*secret holds no PEM certificate$/],
  ['key file without a key', c => { c.server.tls.keyFile = c.server.tls.certFile }, /^\/server\/tls\/keyFile: .*cert\.pem holds no unencrypted PEM private key$/],
  ['health key that is a customer key', c => { c.health.keyLabel = 'foo' }, /^\/health\/keyLabel: "foo" is also the customer key \/keyStores\/0\/keys\/foo\/label/],
  ['one HSM key in two key stores', c => { c.keyStores.push({ name: 'b', uriPrefix: '/b/kms/xks/v1', credentials: [{ accessKeyId: 'BKIAI2SFODNN7EXAMPLE', secretAccessKey: SECRET }], keys: { bar: { label: 'foo' } } }) }, /^\/keyStores\/1\/keys\/bar\/label: "foo" is also the key \/keyStores\/0\/keys\/foo\/label of another key store/],
  ['duplicate prefix', c => { c.keyStores.push({ ...c.keyStores[0], name: 'b', credentials: [{ accessKeyId: 'BKIAI2SFODNN7EXAMPLE', secretAccessKey: SECRET }] }) }, /\/keyStores\/1\/uriPrefix: .* is used by another key store/],
  ['duplicate access key id', c => { c.keyStores.push({ ...c.keyStores[0], name: 'b', uriPrefix: '/b/kms/xks/v1' }) }, /\/keyStores\/1\/credentials\/0\/accessKeyId: used more than once/],
  ['no key stores', c => { c.keyStores = [] }, /\/keyStores/],
]

for (const [name, mutate, expected] of cases) {
  t.test(`rejected, naming the field: ${name}`, async t => {
    const { dir, config } = fixture()
    mutate(config)
    const problems = problemsOf(() => validateConfig(config, { baseDir: dir, env: { TEST_PIN: '1' } }))
    t.ok(problems.some(p => expected.test(p)), `${expected} in ${JSON.stringify(problems)}`)
  })
}

t.test('a certificate and a key that do not belong together name /server/tls, before any server sees them', async t => {
  const { dir, config } = fixture()
  const other = ensureSelfSignedCert(path.join(dir, 'other-tls'))
  config.server.tls.keyFile = other.keyFile
  const problems = problemsOf(() => validateConfig(config, { baseDir: dir, env: { TEST_PIN: '1' } }))
  t.same(problems, [`/server/tls: the private key in ${other.keyFile} does not belong to the certificate in ${path.join(dir, 'tls', 'cert.pem')}`])
  t.notMatch(problems.join('\n'), /PRIVATE KEY/, 'the key itself is never quoted')
  config.server.tls.certFile = other.certFile
  t.same(problemsOf(() => validateConfig(config, { baseDir: dir, env: { TEST_PIN: '1' } })), [], 'the matching pair is accepted')
})

t.test('two key ids for one HSM label inside one key store are accepted', async t => {
  const { dir, config } = fixture()
  config.keyStores[0].keys.alias = { label: 'foo' }
  t.same(problemsOf(() => validateConfig(config, { baseDir: dir, env: { TEST_PIN: '1' } })), [])
})

t.test('config/xksgate.example.json is valid once its files exist', async t => {
  const { dir, config: fixtureConfig } = fixture()
  const example = JSON.parse(fs.readFileSync(path.join(repoRoot, 'config', 'xksgate.example.json'), 'utf8'))
  example.server.tls = fixtureConfig.server.tls
  for (const credential of example.keyStores[0].credentials) credential.secretAccessKey = { file: 'secret' }
  t.same(problemsOf(() => validateConfig(example, { baseDir: dir, env: { XKSGATE_HSM_PIN: '1234' } })), [])
})

t.test('error messages never contain secret values', async t => {
  const { dir, config } = fixture()
  config.keyStores[0].credentials[0].secretAccessKey = 'short-secret-value'
  const problems = problemsOf(() => validateConfig(config, { baseDir: dir, env: { TEST_PIN: '1' } }))
  t.notMatch(problems.join('\n'), /short-secret-value/)
})

t.test('runtime sections: defaults, Redis password by reference, mode-specific fields named', async t => {
  const { dir, config } = fixture()
  const plain = validateConfig(config, { baseDir: dir, env: { TEST_PIN: '1' } })
  t.equal(plain.redis, undefined, 'no Redis by default')
  t.same(plain.replay, { failurePolicy: 'fail-open-local', commandTimeoutMs: 50, keyPrefix: 'xksgate:replay:', allowProcessLocal: false })
  t.same(plain.cluster, { processes: 1, restartMinMs: 100, restartMaxMs: 10000, readyTimeoutMs: 60000 })
  t.same(plain.shutdown, { graceMs: 0, drainMs: 10000, lingerMs: 1000 })
  t.same(plain.metrics, { port: 9464, host: '127.0.0.1' })
  t.same(plain.fleet, { instanceId: os.hostname(), heartbeatMs: 5000, keyPrefix: 'xksgate:' }, 'one fleet member per host by default')
  const withRedis = validateConfig({ ...config, redis: { url: 'rediss://r:6380', password: { env: 'REDIS_PW' } } }, { baseDir: dir, env: { TEST_PIN: '1', REDIS_PW: 's3cret' } })
  t.equal(withRedis.redis?.password?.reveal(), 's3cret')
  t.equal(withRedis.redis?.mode, 'standalone')
  t.equal(withRedis.redis?.connectTimeoutMs, 2000)
  t.same(problemsOf(() => validateConfig({ ...config, redis: { mode: 'sentinel', sentinels: [{ host: 'a', port: 26379 }] } }, { baseDir: dir, env: { TEST_PIN: '1' } })),
    ['/redis/name: required when /redis/mode is sentinel'])
  t.same(problemsOf(() => validateConfig({ ...config, redis: { url: 'redis://x', password: { env: 'MISSING' } } }, { baseDir: dir, env: { TEST_PIN: '1' } })),
    ['/redis/password: environment variable MISSING is not set'])
  t.match(problemsOf(() => validateConfig({ ...config, replay: { failurePolicy: 'maybe' } }, { baseDir: dir, env: { TEST_PIN: '1' } })).join('\n'), /\/replay\/failurePolicy/)
})

t.test('size limits are accepted from the spec minima up to what the AAD length prefix can carry', async t => {
  for (const limits of [{ maxPlaintextBytes: 4300, maxAadBytes: 8192 }, { maxPlaintextBytes: 65536, maxAadBytes: 65535 }]) {
    const { dir, config } = fixture()
    config.limits = limits
    t.same(validateConfig(config, { baseDir: dir, env: { TEST_PIN: '1' } }).limits, limits)
  }
})

t.test('strict mTLS: CA paths resolved, the node frontend required, each CA file checked', async t => {
  const { dir, config } = fixture()
  const ca = createCa(path.join(dir, 'client-ca'), 'client CA')
  config.server.frontend = 'node'
  config.server.tls.clientAuth = { caFiles: [path.relative(dir, ca.certFile)] }
  const loaded = validateConfig(config, { baseDir: dir, env: { TEST_PIN: '1' } })
  t.same(loaded.server.tls.clientAuth, { caFiles: [ca.certFile] })
  config.server.frontend = 'uws'
  t.match(problemsOf(() => validateConfig(config, { baseDir: dir, env: { TEST_PIN: '1' } })), [/^\/server\/tls\/clientAuth: needs \/server\/frontend "node"/])
  config.server.frontend = 'node'
  config.server.tls.clientAuth = { caFiles: ['absent.pem', path.relative(dir, ensureSelfSignedCert(path.join(dir, 'leaf')).keyFile)] }
  t.match(problemsOf(() => validateConfig(config, { baseDir: dir, env: { TEST_PIN: '1' } })), [
    /^\/server\/tls\/clientAuth\/caFiles\/0: cannot read .*absent\.pem: ENOENT$/,
    /^\/server\/tls\/clientAuth\/caFiles\/1: .*key\.pem holds no PEM CA certificate$/,
  ])
  config.server.tls.clientAuth = { caFiles: [ca.certFile], allowedSubjects: ['not a name'] }
  t.match(problemsOf(() => validateConfig(config, { baseDir: dir, env: { TEST_PIN: '1' } })), [/^\/server\/tls\/clientAuth\/allowedSubjects\/0: /])
})

t.test('an incomplete or expired served chain names /server/tls/certFile', async t => {
  const { dir, config } = fixture()
  const ca = createCa(path.join(dir, 'ca'), 'private CA')
  const leaf = issueClientCert(ca, { dir, name: 'leaf', commonName: 'proxy.example.com' })
  config.server.tls = { certFile: leaf.certFile, keyFile: leaf.keyFile }
  t.match(problemsOf(() => validateConfig(config, { baseDir: dir, env: { TEST_PIN: '1' } })), [/^\/server\/tls\/certFile: .*leaf_cert\.pem: the chain is incomplete/])
  const now = Date.now()
  const expired = issueClientCert(ca, { dir, name: 'expired', commonName: 'p', notBefore: new Date(now - 9e9), notAfter: new Date(now - 1e8) })
  fs.appendFileSync(expired.certFile, fs.readFileSync(ca.certFile))
  config.server.tls = { certFile: expired.certFile, keyFile: expired.keyFile }
  t.match(problemsOf(() => validateConfig(config, { baseDir: dir, env: { TEST_PIN: '1' } })), [/^\/server\/tls\/certFile: .*expired_cert\.pem: the certificate expired on /])
})

t.test('hsm: one object is a list of one backend; a list names each backend\'s fields by index', async t => {
  const { dir, config } = fixture()
  const env = { TEST_PIN: '1234', OTHER_PIN: '5678' }
  const single = validateConfig(config, { baseDir: dir, env })
  t.equal(single.hsm.length, 1)
  t.match(single.hsm[0], { name: 'tok', tokenLabel: 'tok', field: '/hsm', opTimeoutMs: 200 }, 'named after its token by default')
  t.same(problemsOf(() => validateConfig({ ...config, hsm: { tokenLabel: 'tok', pin: { env: 'NONE' } } }, { baseDir: dir, env })),
    ['/hsm/pin: environment variable NONE is not set'], 'a single object keeps its field names')
  t.match(problemsOf(() => validateConfig({ ...config, hsm: { pin: '1' } }, { baseDir: dir, env })), ['/hsm/tokenLabel: Expected required property'])

  const pair = [{ tokenLabel: 'a', pin: { env: 'TEST_PIN' } }, { name: 'second', tokenLabel: 'b', pin: { env: 'OTHER_PIN' }, threads: 2 }]
  const listed = validateConfig({ ...config, hsm: pair }, { baseDir: dir, env })
  t.same(listed.hsm.map(b => [b.name, b.field, b.pin.reveal(), b.threads]), [['a', '/hsm/0', '1234', 1], ['second', '/hsm/1', '5678', 2]])
  t.same(problemsOf(() => validateConfig({ ...config, hsm: [pair[0], { ...pair[1], pin: { env: 'NONE' } }] }, { baseDir: dir, env })),
    ['/hsm/1/pin: environment variable NONE is not set'])
  t.same(problemsOf(() => validateConfig({ ...config, hsm: [pair[0], { ...pair[1], name: 'a' }] }, { baseDir: dir, env })),
    ['/hsm/1/name: "a" names another backend too (set a name of its own)'])
  t.same(problemsOf(() => validateConfig({ ...config, hsm: [pair[0], { ...pair[0], name: 'again' }] }, { baseDir: dir, env })),
    ['/hsm/1/tokenLabel: "a" on /usr/lib/softhsm/libsofthsm2.so is another backend\'s token'])
  t.match(problemsOf(() => validateConfig({ ...config, hsm: [] }, { baseDir: dir, env })), [/^\/hsm: Expected array length to be greater or equal to 1/])
  t.equal(single.hsm[0].maxSessions, 64, 'the concurrency may grow to 64 sessions by default')
  t.same(problemsOf(() => validateConfig({ ...config, hsm: [pair[0], { ...pair[1], maxSessions: 1 }] }, { baseDir: dir, env })),
    ['/hsm/1/maxSessions: must be at least threads × sessionsPerThread (2), the sessions opened at start'])
  t.match(problemsOf(() => validateConfig({ ...config, hsm: { ...config.hsm, maxSessions: 2000 } }, { baseDir: dir, env })),
    [/^\/hsm\/maxSessions: Expected integer to be less or equal to 1024/])
})

t.test('a credential\'s age comes from createdAt, else from its secret file\'s mtime; an inline secret has none', async t => {
  const { dir, config } = fixture()
  const env = { TEST_PIN: '1234' }
  const secretFile = path.join(dir, 'secret')
  const written = new Date('2025-06-01T12:00:00Z')
  fs.utimesSync(secretFile, written, written)
  t.equal(validateConfig(config, { baseDir: dir, env }).keyStores[0].credentials[0].createdAtMs, written.getTime(), 'the secret file\'s mtime')
  config.keyStores[0].credentials[0].createdAt = '2026-01-02T03:04:05Z'
  t.equal(validateConfig(config, { baseDir: dir, env }).keyStores[0].credentials[0].createdAtMs, Date.parse('2026-01-02T03:04:05Z'), 'createdAt wins')
  config.keyStores[0].credentials[0].createdAt = '2026-13-45'
  t.same(problemsOf(() => validateConfig(config, { baseDir: dir, env })), ['/keyStores/0/credentials/0/createdAt: 2026-13-45 is not a date'])
  config.keyStores[0].credentials[0].createdAt = 'yesterday'
  t.match(problemsOf(() => validateConfig(config, { baseDir: dir, env }))[0], /^\/keyStores\/0\/credentials\/0\/createdAt: Expected string to match/)
  delete config.keyStores[0].credentials[0].createdAt
  config.keyStores[0].credentials[0].secretAccessKey = SECRET
  t.equal(validateConfig(config, { baseDir: dir, env }).keyStores[0].credentials[0].createdAtMs, undefined, 'inline: no age')
})
