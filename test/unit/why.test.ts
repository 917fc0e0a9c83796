/**
 * `xksgate why` over log and audit lines as the proxy writes them: a match per attempt, each explained from the
 * troubleshooting table; an id not found shows the period's summaries; --since bounds the search.
 * (test/integration/why.test.ts runs it against a real proxy's requests of every kind.)
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { parseSince, whyCommand } from '../../src/cli/why'

async function why (args: string[]): Promise<{ status: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const status = await whyCommand.run(args, { stdout: s => { out += s }, stderr: s => { err += s }, env: {} })
  return { status, out, err }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-why-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
const log = path.join(dir, 'requests.log')
const line = (fields: object): string => JSON.stringify({ level: 30, time: '2026-12-06T10:00:00.000Z', msg: 'xks request', ...fields })
fs.writeFileSync(log, [
  'not JSON: systemd said something',
  line({ operation: 'encrypt', keyStore: 'payments', keyId: 'orders', status: 403, errorName: 'AccessDeniedException', detail: 'policy DenyOutsideVpce', policySid: 'DenyOutsideVpce', kmsRequestId: 'req-denied', principal: 'arn:aws:iam::111122223333:role/app' }),
  line({ operation: 'decrypt', keyStore: 'payments', keyId: 'orders', status: 503, errorName: 'DependencyTimeoutException', detail: 'CKR_DEVICE_ERROR', kmsRequestId: 'req-retried', time: '2026-12-06T10:00:01.000Z' }),
  line({ operation: 'decrypt', keyStore: 'payments', keyId: 'orders', status: 200, kmsRequestId: 'req-retried', time: '2026-12-06T10:00:02.000Z' }),
  line({ status: 404, errorName: 'InvalidUriPathException', kmsRequestId: 'req-no-route', unauthenticated: true, remote: '10.0.0.9', msg: 'xks request refused before authentication (its kmsRequestId is as claimed, unverified)' }),
  JSON.stringify({ level: 40, time: '2026-12-06T10:00:03.000Z', shed: 120, byReason: { quota: 120 }, status: 429, errorName: 'ThrottlingException', msg: 'requests shed with 429' }),
].join('\n') + '\n')

t.test('a denial names the policy statement and says what to do', async t => {
  const { status, out } = await why(['req-denied', '--log', log])
  t.equal(status, 0)
  t.match(out, /answer\s+403 AccessDeniedException/)
  t.match(out, /decided by\s+policy: policy DenyOutsideVpce; policy statement DenyOutsideVpce/)
  t.match(out, /what to do\s+xksgate policy explain/)
  t.match(out, /caller\s+arn:aws:iam::111122223333:role\/app/)
})

t.test('a retried call shows each attempt, oldest first', async t => {
  const { status, out } = await why(['req-retried', '--log', log, '--json'])
  t.equal(status, 0)
  const result = JSON.parse(out) as { found: Array<{ status: number, step: string, detail?: string }> }
  t.same(result.found.map(f => f.status), [503, 200])
  t.equal(result.found[0].step, 'HSM')
  t.equal(result.found[0].detail, 'CKR_DEVICE_ERROR')
})

t.test('an id not found exits 1 and shows the summaries of the period', async t => {
  const { status, out } = await why(['req-unknown', '--log', log])
  t.equal(status, 1)
  t.match(out, /is not in .*requests\.log \(6 line\(s\) read\)/)
  t.match(out, /2026-12-06T10:00:03.000Z {2}429 ThrottlingException × 120 quota: admission \(quota\)[^\n]*\n\s+what to do\s+Raise rate and burst/, 'each reason with its step and what to do')
})

t.test('--since leaves out older records', async t => {
  const { status } = await why(['req-denied', '--log', log, '--since', '2026-12-06T10:00:01Z'])
  t.equal(status, 1)
  t.equal(parseSince('2h', 10_000_000), 10_000_000 - 7_200_000)
  t.equal(parseSince('yesterday'), undefined)
})

t.test('usage errors exit 2', async t => {
  t.equal((await why(['--log', log])).status, 2, 'no id')
  t.equal((await why(['id'])).status, 2, 'nothing to search')
  t.equal((await why(['id', '--log', log, '--since', 'soon'])).status, 2, 'a bad --since')
  t.equal((await why(['id', '--log', path.join(dir, 'missing.log')])).status, 2, 'a missing file')
})

t.test('a refusal at the route: no operation, the id marked unverified', async t => {
  const { status, out } = await why(['req-no-route', '--log', log])
  t.equal(status, 0)
  t.match(out, /request\s+no XKS operation \(the path matched no route\)/)
  t.match(out, /decided by\s+route/)
  t.match(out, /unverified\s+unauthenticated: the kmsRequestId is the one the request claims/)
})
