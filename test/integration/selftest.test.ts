/**
 * `xksgate selftest` against a real proxy (SoftHSM, TLS on loopback): every case passes against the embedded
 * default, a burst provokes real 429s whose shape it checks; and it notices when things are wrong — a wrong
 * credential, a proxy whose answers are subtly non-conformant (keySpec, pretty-printed JSON, a 429 that is
 * not a ThrottlingException), and a TLS endpoint that does or does not enforce mTLS.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { selftestCommand } from '../../src/cli/selftest'
import { runSelftest } from '../../src/selftest/run'
import type { CaseResult } from '../../src/selftest/suite'
import type { Target } from '../../src/selftest/target'
import { targetFromConnectionFile } from '../../src/selftest/load-target'
import { startDevServer, type DevServer } from '../helpers/dev-server'
import { startForwarder, type Answer, type ForwarderOptions } from '../helpers/forwarder'

let server: DevServer
let target: Target
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-selftest-test-'))

t.before(async () => {
  // A small in-flight limit, so a burst of concurrent Encrypts really gets 429s.
  server = await startDevServer({ env: { XKSGATE__server__maxInFlight: '2' } })
  target = targetFromConnectionFile(path.join(server.dir, 'connection.json'))
})
t.teardown(async () => {
  await server?.stop()
  if (server !== undefined) fs.rmSync(server.dir, { recursive: true, force: true })
  fs.rmSync(tmp, { recursive: true, force: true })
})

const byName = (cases: CaseResult[], text: string): CaseResult[] => cases.filter(c => c.name.includes(text))

async function viaForwarder (options: Partial<ForwarderOptions>, run: (endpoint: string) => Promise<void>): Promise<void> {
  const tls = path.join(server.dir, 'tls')
  const forwarder = await startForwarder({
    upstream: target.endpoint, caFile: String(target.caFile), certFile: path.join(tls, 'cert.pem'), keyFile: path.join(tls, 'key.pem'), ...options,
  })
  try { await run(forwarder.endpoint) } finally { await forwarder.close() }
}

t.test('every case passes against the embedded default, and a burst gets well-formed 429s', async t => {
  const report = await runSelftest(target, { burst: 48 })
  t.same(report.cases.filter(c => c.outcome === 'failed'), [], 'no case failed')
  t.equal(report.failed, 0)
  t.ok(report.passed >= 59, `${report.passed} passed`)
  t.same(report.cases.filter(c => c.outcome === 'skipped').map(c => c.name).every(n => n.startsWith('mTLS')), true, 'only the mTLS cases are skipped')
  const [throttle] = byName(report.cases, 'every 429')
  t.match(throttle.detail, /^[1-9]\d* 429\(s\) seen, each well-formed \(a burst of 48: \d+ answered 503/, 'the burst provoked 429s')
})

/** The secret with its first character changed (always changed: a fixed replacement would equal it 1 time in 64). */
const wrongSecret = (secret: string): string => (secret.startsWith('W') ? 'X' : 'W') + secret.slice(1)

t.test('a wrong credential fails the run: exit 1, one line per case, the tally', async t => {
  const conn = JSON.parse(fs.readFileSync(path.join(server.dir, 'connection.json'), 'utf8')) as Record<string, unknown>
  const file = path.join(tmp, 'wrong-secret.json')
  fs.writeFileSync(file, JSON.stringify({ ...conn, secretAccessKey: wrongSecret(String(conn.secretAccessKey)) }))
  let out = ''
  const status = await selftestCommand.run(['--connection', file, '--only', 'GetHealthStatus'], { stdout: s => { out += s }, stderr: s => { out += s }, env: {} })
  t.equal(status, 1, 'exit 1')
  const lines = out.trim().split('\n')
  t.match(lines[0], /^FAILED +GetHealthStatus — expected 200, got 401 \{"errorName":"AuthenticationFailedException"/)
  // The cases that expect a 401 (a wrong id or secret), 404 or 405 still pass; the 200s and 400s become 401s.
  t.match(lines.at(-1), /^4 passed, 4 failed$/)
  t.equal(lines.length, 9, 'one line per case and the tally')
})

/**
 * A proxy that is wrong in three small ways KMS would trip on (the official test client accepts the first two):
 * keySpec RSA_0, pretty-printed health answers, and throttling, of requests that arrive while 3 others are in
 * flight, with a 429 that is not a ThrottlingException.
 */
function nonConformant (urlPath: string, answer: Answer, inFlight: number): Answer {
  if (urlPath.endsWith('/metadata') && answer.status === 200) return { ...answer, body: answer.body.replace('"AES_256"', '"RSA_0"') }
  if (urlPath.endsWith('/health') && answer.status === 200) return { ...answer, body: JSON.stringify(JSON.parse(answer.body), null, 1) }
  if (inFlight > 3) return { ...answer, status: 429, body: '{"errorName":"TooManyRequests"}' }
  return answer
}

t.test('a non-conformant proxy fails exactly the cases it breaks', async t => {
  await viaForwarder({ mutate: nonConformant }, async endpoint => {
    const report = await runSelftest({ ...target, endpoint }, { burst: 48 })
    const failed = report.cases.filter(c => c.outcome === 'failed')
    t.same(failed.map(c => c.name).sort(), [
      'GetHealthStatus', 'GetHealthStatus signed like KMS (SignedHeaders host;x-amz-date)',
      'GetKeyMetadata for CreateKey', 'GetKeyMetadata for DescribeKey', 'GetKeyMetadata of the decrypt-only key: keyUsage DECRYPT',
      'GetKeyMetadata of the encrypt-only key: keyUsage ENCRYPT', 'every 429 is a ThrottlingException error body',
    ].sort())
    t.match(byName(failed, 'DescribeKey')[0].detail, 'keySpec is "RSA_0", not "AES_256"')
    t.match(byName(failed, 'GetHealthStatus')[0].detail, 'several lines')
    t.match(byName(failed, 'every 429')[0].detail, 'expected 429 ThrottlingException, got 429 {"errorName":"TooManyRequests"}')
    t.ok(byName(report.cases, 'Encrypt with AAD → Decrypt with the same AAD').every(c => c.outcome === 'passed'), 'untouched cases still pass')
  })
})

/** openssl: a CA, and a client certificate from it for `cn`. */
function clientPki (dir: string, cn: string): { caFile: string, caKeyFile: string, certFile: string, keyFile: string } {
  const f = (name: string): string => path.join(dir, name)
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  execFileSync('openssl', ['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=selftest client CA', '-keyout', f('ca.key'), '-out', f('ca.pem')], { stdio: 'pipe' })
  execFileSync('openssl', ['req', '-new', ...ec, '-subj', `/CN=${cn}`, '-keyout', f('client.key'), '-out', f('client.csr')], { stdio: 'pipe' })
  execFileSync('openssl', ['x509', '-req', '-in', f('client.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-days', '2', '-out', f('client.pem')], { stdio: 'pipe' })
  return { caFile: f('ca.pem'), caKeyFile: f('ca.key'), certFile: f('client.pem'), keyFile: f('client.key') }
}

t.test('mTLS: the four refusals pass against an endpoint that enforces them, and fail against one that does not', async t => {
  const subject = 'cks.kms.us-east-1.amazonaws.com'
  const clientTls = clientPki(tmp, subject)
  await viaForwarder({ mtls: { caFile: clientTls.caFile, subject } }, async endpoint => {
    const report = await runSelftest({ ...target, endpoint, clientTls }, { only: 'GetHealthStatus' })
    t.equal(report.failed, 0, 'requests with the configured client certificate are served')
    const mtls = await runSelftest({ ...target, endpoint, clientTls }, { only: 'mTLS' })
    t.same(mtls.cases.map(c => c.outcome), ['passed', 'passed', 'passed', 'passed'], mtls.cases.map(c => `${c.name}: ${c.detail}`).join('\n'))
  })
  await viaForwarder({}, async endpoint => {
    const mtls = await runSelftest({ ...target, endpoint, clientTls }, { only: 'mTLS' })
    t.same(mtls.cases.map(c => c.outcome), ['failed', 'failed', 'failed', 'failed'], 'an endpoint without mTLS fails all four', { details: mtls.cases.map(c => c.detail) })
    t.match(mtls.cases[0].detail, 'the proxy answered 200: the handshake was not refused')
  })
})

t.test('usage errors exit 2 with one line; --help exits 0; --json is one object', async t => {
  const run = async (args: string[]): Promise<[number, string]> => {
    let out = ''
    const status = await selftestCommand.run(args, { stdout: s => { out += s }, stderr: s => { out += s }, env: {} })
    return [status, out]
  }
  t.same((await run([]))[0], 2)
  t.match((await run(['--burst', 'x', '--connection', 'c.json']))[1], /^xksgate selftest: --burst must be an integer/)
  t.match((await run(['--connection', path.join(tmp, 'missing.json')]))[1], /missing\.json: ENOENT/)
  t.match((await run(['--endpoint', 'http://x', '--config', 'c.json']))[0], 2)
  const [helpStatus, help] = await run(['--help'])
  t.equal(helpStatus, 0)
  t.match(help, /^usage: xksgate selftest --connection FILE/)
  const [status, json] = await run(['--connection', path.join(server.dir, 'connection.json'), '--only', 'GetKeyMetadata for', '--json'])
  t.equal(status, 0)
  const report = JSON.parse(json) as { passed: number, failed: number, cases: CaseResult[] }
  t.same([report.passed, report.failed, report.cases.length], [3, 0, 3])
})

t.test('--endpoint with --config: the key store, its credential and the keys by their configured usage', async t => {
  const config = path.join(server.dir, 'config.json')
  let out = ''
  const io = { stdout: (s: string) => { out += s }, stderr: (s: string) => { out += s }, env: {} }
  const args = ['--endpoint', target.endpoint, '--config', config, '--ca', String(target.caFile)]
  t.equal(await selftestCommand.run([...args, '--only', 'keyUsage'], io), 0, out)
  t.match(out, /^ok +GetKeyMetadata of the encrypt-only key: keyUsage ENCRYPT.*\nok +GetKeyMetadata of the decrypt-only key.*\n2 passed, 0 failed\n$/)
  out = ''
  t.equal(await selftestCommand.run([...args, '--key-store', 'nope'], io), 2)
  t.match(out, 'no key store named nope')
})
