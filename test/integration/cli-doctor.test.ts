import fs from 'node:fs'
import net from 'node:net'
import t from 'tap'
import { freePort } from '../../src/dev/free-port'
import { runCli, tokenConfig, type TokenConfig } from '../helpers/cli-run'
import { startRedis, type TestRedis } from '../helpers/redis-server'
import { createTestToken } from '../helpers/softhsm'

let c: TokenConfig
let redis: TestRedis
let port: number
t.before(async () => {
  const token = await createTestToken()
  t.teardown(token.cleanup)
  c = tokenConfig(token)
  t.teardown(c.cleanup)
  redis = await startRedis()
  t.teardown(redis.stop)
  port = await freePort()
})

function writeConfig (change: (raw: Record<string, any>) => void = () => {}): void {
  const raw = JSON.parse(JSON.stringify(c.config))
  raw.server.host = '127.0.0.1'
  raw.server.port = port
  raw.redis = { url: redis.url, connectTimeoutMs: 500 }
  raw.metrics = { port: 0 }
  change(raw)
  fs.writeFileSync(c.file, JSON.stringify(raw))
}

const doctor = async (...args: string[]): ReturnType<typeof runCli> => await runCli(['doctor', '--config', c.file, ...args], c.env)
const lineOf = (stdout: string, name: string): string => stdout.split('\n').find(l => l.slice(9).startsWith(name + ':')) ?? `(no line ${name})`

t.test('a healthy setup: one line per check, then the verdict, exit 0', async t => {
  writeConfig()
  const out = await doctor('--hostname', 'localhost')
  t.equal(out.status, 0, out.stdout + out.stderr)
  t.match(lineOf(out.stdout, 'HSM login'), /^ok {7}HSM login: token "xksgate-test" \(SoftHSM project SoftHSM v2, serial \w+\), logged in$/)
  t.match(lineOf(out.stdout, 'key /keyStores/0/keys/foo'), /^ok {7}key \/keyStores\/0\/keys\/foo: "foo" is AES-256, sensitive, not extractable, usages as configured$/)
  t.match(lineOf(out.stdout, 'key /health/keyLabel'), /^ok /)
  t.match(lineOf(out.stdout, 'health key separate'), /^ok {7}health key separate: "health" is used by no customer key$/)
  t.match(lineOf(out.stdout, 'certificate chain'), /^warn {5}certificate chain: self-signed: fine for local tests, but KMS accepts only a chain to a public CA it trusts$/)
  t.match(lineOf(out.stdout, 'certificate key'), /^ok /)
  t.match(lineOf(out.stdout, 'certificate host name'), /^ok {7}certificate host name: covers localhost$/)
  t.match(lineOf(out.stdout, 'certificate validity'), /^ok {7}certificate validity: \d+ days to expiry/)
  t.match(lineOf(out.stdout, 'Redis'), /^ok {7}Redis: PING answered in [\d.]+ ms \(standalone\)$/)
  t.match(lineOf(out.stdout, 'port /server/port'), new RegExp(`^ok {7}port /server/port: 127\\.0\\.0\\.1:${port} can be bound$`))
  t.match(lineOf(out.stdout, 'port /metrics/port'), /^ok {7}port \/metrics\/port: 127\.0\.0\.1:0 can be bound$/)
  t.match(lineOf(out.stdout, 'clock'), /^(ok|FAIL|unknown) +clock: /)
  t.match(out.stdout, /\n\d+ ok, \d+ warning\(s\), 0 failed: ready to serve KMS\n$/)
})

t.test('each failure is a FAIL line naming what to fix, and exit 1', async t => {
  writeConfig(raw => {
    raw.keyStores[0].keys.ghost = { label: 'ghost' }
    raw.keyStores[0].keys.sealer = { label: 'enc-only', usage: ['ENCRYPT', 'DECRYPT'] }
    raw.keyStores[0].keys.foo = { label: 'foo', version: 2, decryptOnlyVersions: [{ version: 1, label: 'retired-by-hand' }] }
  })
  const holder = net.createServer()
  await new Promise<void>(resolve => holder.listen(port, '127.0.0.1', resolve))
  t.teardown(() => holder.close())
  await redis.stop()
  const out = await doctor('--hostname', 'xks.example.com', '--json')
  t.equal(out.status, 1)
  const checks = new Map((JSON.parse(out.stdout).checks as any[]).map(k => [k.name, k]))
  t.same(checks.get('key /keyStores/0/keys/ghost'), { name: 'key /keyStores/0/keys/ghost', status: 'fail', detail: 'no secret key labelled "ghost" on the token' })
  t.match(checks.get('key /keyStores/0/keys/sealer'), { status: 'fail', detail: /"enc-only" lacks DECRYPT \(CKA_DECRYPT false\), which \/keyStores\/0\/keys\/sealer\/usage requires/ })
  t.same(checks.get('key /keyStores/0/keys/foo/decryptOnlyVersions/0'), { name: 'key /keyStores/0/keys/foo/decryptOnlyVersions/0', status: 'fail', detail: 'no secret key labelled "retired-by-hand" on the token' })
  t.match(checks.get('key /keyStores/0/keys/foo'), { status: 'ok' })
  t.match(checks.get('certificate host name'), { status: 'fail', detail: /does not cover xks\.example\.com; it names DNS:localhost/ })
  t.match(checks.get('Redis'), { status: 'fail', detail: /^not reachable \(standalone\): .*ECONNREFUSED/ })
  t.match(checks.get('port /server/port'), { status: 'warn', detail: new RegExp(`127\\.0\\.0\\.1:${port} is in use by pid ${process.pid} \\(node\\)`) })
  t.equal(JSON.parse(out.stdout).verdict, 'fail')
  await redis.restart()
})

t.test('a wrong PIN fails the login line; an invalid configuration exits 2', async t => {
  writeConfig()
  const out = await runCli(['doctor', '--config', c.file], { ...c.env, TEST_PIN: '999999' })
  t.equal(out.status, 1)
  t.match(lineOf(out.stdout, 'HSM login'), /^FAIL {5}HSM login: \/hsm\/pin: C_Login: CKR_PIN_INCORRECT$/)
  t.notMatch(out.stdout, /key \/keyStores/, 'no key lines without a login')
  writeConfig(raw => { raw.server.port = 'x' })
  const invalid = await doctor()
  t.equal(invalid.status, 2)
  t.match(invalid.stderr, /^xksgate doctor: \/server\/port: Expected integer/)
  t.match((await runCli(['doctor', '--help'])).stdout, /^usage: xksgate doctor/)
  t.match((await doctor('--hsm-timeout-ms', '0')).stderr, /--hsm-timeout-ms must be a positive integer, got 0/)
})

t.test('an HSM that does not answer in time fails its line instead of hanging the doctor', async t => {
  writeConfig()
  // No HSM answers within a millisecond (the checks' thread alone takes longer to start): the timeout path.
  const out = await doctor('--hsm-timeout-ms', '1')
  t.equal(out.status, 1)
  t.match(lineOf(out.stdout, 'HSM login'), /^FAIL {5}HSM login: the HSM did not answer within 1 ms/)
  t.match(lineOf(out.stdout, 'Redis'), /^ok /, 'the other checks still run')
})
