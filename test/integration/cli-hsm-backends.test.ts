/**
 * The operator commands' HSM work in a child process with a deadline (src/cli/hsm-job.ts): an HSM whose library
 * never answers fails the command in time, and the process exits (a stuck worker thread would have held it);
 * `--hsm NAME` picks the backend; the doctor checks every backend.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { runHsmJob } from '../../src/cli/hsm-job'
import { runCli, tokenConfig, type TokenConfig } from '../helpers/cli-run'
import { buildHangingModule } from '../helpers/hanging-module'
import { runMain } from '../helpers/main-process'
import { createTestTokens, type TestTokenPair } from '../helpers/softhsm'

let tokens: TestTokenPair
let c: TokenConfig
t.before(async () => {
  tokens = await createTestTokens(2)
  t.teardown(tokens.cleanup)
  c = tokenConfig({ ...tokens, tokenLabel: tokens.tokenLabels[0], confPath: '', soPin: '', cleanup: () => {} })
  t.teardown(c.cleanup)
})

const withHsm = (hsm: unknown): void => {
  const raw = c.read()
  raw.hsm = hsm
  fs.writeFileSync(c.file, JSON.stringify(raw))
}
const backend = (name: string, tokenLabel: string, modulePath = tokens.modulePath): Record<string, unknown> => ({ name, modulePath, tokenLabel, pin: { env: 'TEST_PIN' } })

t.test('an HSM that never answers: doctor, keys list and keys create fail in time, and the process exits', async t => {
  withHsm(backend('silent', 'any', buildHangingModule(c.dir)))
  const before = fs.readFileSync(c.file, 'utf8')
  // The guard kill is far past the 1.5 s deadline: eight Node processes start here (each command and its HSM job),
  // which took 25 s at load average 25 on a 2-core host. A killed command has status null, which fails below.
  const run = async (...args: string[]): ReturnType<typeof runMain> => await runMain([...args, '--config', c.file, '--hsm-timeout-ms', '1500'], { env: c.env, timeoutMs: 100_000 })
  const started = Date.now()
  const [doctor, list, create, check] = await Promise.all([run('doctor'), run('keys', 'list'), run('keys', 'create', 'bar'), run('config', 'check', '--hsm')])
  t.ok(Date.now() - started < 90_000, 'all four ended by themselves, before the guard kill')
  t.equal(check.status, 1, 'config check --hsm refuses what the proxy could not start with')
  t.match(check.stderr, /^xksgate config check: HSM login: the HSM did not answer within 1500 ms/)
  t.equal(doctor.status, 1)
  t.match(doctor.stdout, /FAIL {5}HSM login: the HSM did not answer within 1500 ms/)
  t.match(doctor.stdout, /ok {7}certificate key:/, 'the other checks still ran')
  t.equal(list.status, 1, list.stderr)
  t.match(list.stderr, /^xksgate keys list: the HSM did not answer within 1500 ms .*--hsm-timeout-ms\n$/)
  t.equal(create.status, 1, create.stderr)
  t.match(create.stderr, /may exist on the token anyway: xksgate keys list shows it; the configuration was not changed/)
  t.equal(fs.readFileSync(c.file, 'utf8'), before, 'the configuration is unchanged')
})

t.test('--hsm picks the backend; an unknown one names those there are', async t => {
  withHsm([backend('hsm-a', tokens.tokenLabels[0]), backend('hsm-b', tokens.tokenLabels[1])])
  const keys = async (...args: string[]): ReturnType<typeof runCli> => await runCli(['keys', ...args, '--config', c.file], c.env)
  const check = async (): ReturnType<typeof runCli> => await runCli(['config', 'check', '--hsm', '--config', c.file], c.env)
  const passed = await check()
  t.equal(passed.status, 0, passed.stderr)
  t.match(passed.stdout, /is valid .*\nxksgate config check: the HSM checks passed \(\d+ line\(s\), \d+ warning\(s\); xksgate doctor shows them\)\n$/)
  t.equal(JSON.parse((await keys('list', '--json')).stdout).token, tokens.tokenLabels[0], 'the first by default')
  t.equal(JSON.parse((await keys('list', '--json', '--hsm', 'hsm-b')).stdout).token, tokens.tokenLabels[1])
  const created = await keys('create', 'bar', '--hsm', 'hsm-b', '--json')
  t.equal(created.status, 0, created.stderr)
  const labels = async (hsm: string): Promise<string[]> => JSON.parse((await keys('list', '--json', '--hsm', hsm)).stdout).keys.map((k: { label: string }) => k.label)
  t.ok((await labels('hsm-b')).includes('bar'), 'made on hsm-b')
  t.notOk((await labels('hsm-a')).includes('bar'), 'not on hsm-a')
  const describe = await keys('describe', 'bar', '--hsm', 'hsm-a')
  t.equal(describe.status, 1, 'missing on hsm-a')
  t.match(describe.stdout, /MISSING: no secret key labelled "bar" on the token/)
  const unknown = await keys('list', '--hsm', 'hsm-c')
  t.equal(unknown.status, 2)
  t.equal(unknown.stderr, 'xksgate keys list: --hsm: no HSM backend named "hsm-c" in /hsm (there are: hsm-a, hsm-b)\n')
  t.match((await keys('list', '--hsm-timeout-ms', '0')).stderr, /--hsm-timeout-ms must be a positive integer, got 0/)

  const refused = await check()
  t.equal(refused.status, 1, 'a key on one backend only is refused')
  t.match(refused.stderr, /^xksgate config check: key \/keyStores\/0\/keys\/bar \[hsm-a\]: no secret key labelled "bar" on the token\n$/)

  // The doctor checks each backend: the key made on hsm-b alone is missing on hsm-a, and its line says which.
  const doctor = await runCli(['doctor', '--config', c.file], c.env)
  t.equal(doctor.status, 1)
  t.match(doctor.stdout, /ok {7}HSM login \[hsm-a\]: token "xksgate-test-1"/)
  t.match(doctor.stdout, /ok {7}HSM login \[hsm-b\]: token "xksgate-test-2"/)
  t.match(doctor.stdout, /FAIL {5}key \/keyStores\/0\/keys\/bar \[hsm-a\]: no secret key labelled "bar" on the token/)
  t.match(doctor.stdout, /ok {7}key \/keyStores\/0\/keys\/bar \[hsm-b\]:/)
  // And whether the backends hold the same material: the group's keys were imported into both tokens alike.
  t.match(doctor.stdout, /ok {7}key material \/keyStores\/0\/keys\/foo: "foo" is the same key on hsm-a, hsm-b\n/)
  t.match(doctor.stdout, /unknown {2}key material \/keyStores\/0\/keys\/bar: compared on 1 of 2 backends/)
})

t.test('a key generated on each backend apart is a different key on each: the doctor and config check --hsm fail it', async t => {
  withHsm([backend('hsm-a', tokens.tokenLabels[0]), backend('hsm-b', tokens.tokenLabels[1])])
  const created = await runCli(['keys', 'create', 'qux', '--hsm', 'hsm-a', '--config', c.file], c.env)
  t.equal(created.status, 0, created.stderr)
  // The mistake an operator can make without an HSM group: the same label generated on the other HSM too.
  await runHsmJob('generateUnlessTaken', { backend: 'hsm-b', label: 'qux', usage: ['ENCRYPT', 'DECRYPT'] }, { file: c.file, env: c.env, timeoutMs: 15_000 })
  const doctor = await runCli(['doctor', '--config', c.file], c.env)
  t.match(doctor.stdout, /ok {7}key \/keyStores\/0\/keys\/qux \[hsm-a\]:/, 'present on both')
  t.match(doctor.stdout, /ok {7}key \/keyStores\/0\/keys\/qux \[hsm-b\]:/)
  t.match(doctor.stdout, /FAIL {5}key material \/keyStores\/0\/keys\/qux: "qux" is a different key on hsm-a and on hsm-b: a ciphertext made on one does not decrypt on the other/)
  t.match(doctor.stdout, /ok {7}key material \/keyStores\/0\/keys\/foo: /, 'the replicated key is still the same')
  const check = await runCli(['config', 'check', '--hsm', '--config', c.file], c.env)
  t.equal(check.status, 1)
  t.match(check.stderr, /key material \/keyStores\/0\/keys\/qux: "qux" is a different key/)
})

t.test('a PKCS#11 module that is not one: the job reports the module field, exit 2', async t => {
  const notAModule = path.join(c.dir, 'not-a-module.so')
  fs.writeFileSync(notAModule, 'not an ELF file')
  withHsm(backend('broken', 'any', notAModule))
  const list = await runCli(['keys', 'list', '--config', c.file], c.env)
  t.equal(list.status, 2, list.stderr)
  t.match(list.stderr, /^xksgate keys list: \/hsm\/modulePath: /)
})

t.test('the HSM deadline counts the HSM alone: a child slow to start still gets all of --hsm-timeout-ms', async t => {
  withHsm(backend('hsm-a', tokens.tokenLabels[0]))
  // A job's process that takes 3 s to start, as on a loaded host: NODE_OPTIONS makes it sleep before loading anything.
  const sleeper = path.join(c.dir, 'slow-start.js')
  fs.writeFileSync(sleeper, 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000)\n')
  const env = { ...c.env, NODE_OPTIONS: `${c.env.NODE_OPTIONS ?? ''} --require ${sleeper}` }
  const list = await runCli(['keys', 'list', '--json', '--hsm-timeout-ms', '2000', '--config', c.file], env)
  // The listing itself is the answer (its exit status is 1 here: "bar", made on hsm-b above, is missing on hsm-a).
  t.notMatch(list.stderr, /did not answer|did not start/, 'no deadline was hit')
  t.equal(JSON.parse(list.stdout).token, tokens.tokenLabels[0], 'the HSM answered with the listing')
  // The start has its own bound, with its own message.
  await t.rejects(runHsmJob('secretKeys', {}, { file: c.file, env, timeoutMs: 15_000, startTimeoutMs: 500 }),
    /^the HSM job's process did not start and load the configuration within 500 ms \(is the host overloaded\?\)$/)
})
