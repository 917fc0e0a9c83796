import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { COMMANDS } from '../../src/cli/commands'
import type { CliIo } from '../../src/cli/command'
import { configFixture } from '../helpers/config-fixture'
import { repoRoot } from '../helpers/paths'

const policy = COMMANDS.find(c => c.name === 'policy')!
const fixture = configFixture()
t.teardown(fixture.cleanup)
fixture.config.keyStores[0].keys = { foo: { label: 'foo' }, encrypt_only_key: { label: 'e' }, decrypt_only_key: { label: 'd' }, impotent_key: { label: 'i' } }
fixture.config.keyStores[0].policy = { file: path.join(repoRoot, 'config/policies/test-client.json') }
const configFile = path.join(fixture.dir, 'config.json')
fs.writeFileSync(configFile, JSON.stringify(fixture.config))

async function run (args: string[]): Promise<{ status: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = { stdout: s => { stdout += s }, stderr: s => { stderr += s }, env: fixture.env }
  const status = await policy.run(args, io)
  return { status, stdout, stderr }
}

const request = (principal: string, extra: Record<string, unknown> = {}): string => JSON.stringify({
  path: '/a/kms/xks/v1/keys/foo/encrypt',
  region: 'us-east-1',
  requestMetadata: { awsPrincipalArn: principal, kmsKeyArn: 'arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab', kmsOperation: 'Encrypt', kmsRequestId: 'r', kmsViaService: 'ebs' },
  ...extra,
})
const alice = 'arn:aws:iam::123456789012:user/Alice'

t.test('an allowed request: exit 0, the deciding statement, and why the others did not match', async t => {
  const r = await run(['explain', '--config', configFile, '--request', request(alice)])
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /^ALLOW: decided by statement TestClientEncrypt\n/)
  t.match(r.stdout, /TestClientEncrypt +Allow +matches/)
  t.match(r.stdout, /TestClientKeyMetadata +Allow +does not match: Operation \(request: "Encrypt"\)/)
})

t.test('another principal: exit 1, implicit deny, the Principal named as the mismatch (JSON)', async t => {
  const r = await run(['explain', '--config', configFile, '--request', request('arn:aws:iam::123456789012:user/Mallory'), '--json'])
  t.equal(r.status, 1)
  const result = JSON.parse(r.stdout)
  t.match(result, { decision: 'deny', reason: 'statement', sid: 'implicit-deny', keyStore: 'a', operation: 'Encrypt', kmsOperation: 'Encrypt', keyId: 'foo' })
  t.same(result.statements.find((s: { sid: string }) => s.sid === 'TestClientEncrypt').mismatch, { field: 'Principal', requestValue: 'arn:aws:iam::123456789012:user/Mallory' })
})

t.test('a missing field a condition needs is shown as null, and the region matters', async t => {
  const r = await run(['explain', '--config', configFile, '--request', request(alice, { region: undefined }), '--json'])
  t.equal(r.status, 1)
  t.same(JSON.parse(r.stdout).statements[1].mismatch, { field: 'Condition/Region', requestValue: null })
})

t.test('health is exempt; an unknown key never reaches the policy', async t => {
  const health = await run(['explain', '--config', configFile, '--request', JSON.stringify({ path: '/a/kms/xks/v1/health', requestMetadata: {} })])
  t.equal(health.status, 0)
  t.match(health.stdout, /^ALLOW: GetHealthStatus is never subject to policies/)
  const unknown = await run(['explain', '--config', configFile, '--request', request(alice, { path: '/a/kms/xks/v1/keys/nope/encrypt' })])
  t.equal(unknown.status, 1)
  t.match(unknown.stdout, /404 KeyNotFoundException before authorization/)
})

t.test('a key store without a policy allows every authenticated request', async t => {
  const bare = structuredClone(fixture.config)
  delete bare.keyStores[0].policy
  const file = path.join(fixture.dir, 'bare.json')
  fs.writeFileSync(file, JSON.stringify(bare))
  const r = await run(['explain', '--config', file, '--request', request('anyone')])
  t.equal(r.status, 0)
  t.match(r.stdout, /no policy: every authenticated request is allowed/)
})

t.test('usage and configuration errors exit 2 with one line', async t => {
  t.equal((await run([])).status, 2)
  t.equal((await run(['--help'])).status, 0)
  t.equal((await run(['explain', '--help'])).status, 0)
  t.equal((await run(['frobnicate'])).status, 2)
  t.match(await run(['explain', '--request', request(alice)]), { status: 2, stderr: /no configuration/ })
  t.match(await run(['explain', '--config', configFile]), { status: 2, stderr: /--request is required/ })
  t.match(await run(['explain', '--config', configFile, '--request', '{']), { status: 2, stderr: /--request: / })
  t.match(await run(['explain', '--config', configFile, '--request', '{}']), { status: 2, stderr: /needs a "path"/ })
  t.match(await run(['explain', '--config', configFile, '--request', request(alice, { region: 5 })]), { status: 2, stderr: /"region" must be a string/ })
  t.match(await run(['explain', '--config', configFile, '--request', request(alice, { path: '/nope/kms/xks/v1/health' })]), { status: 2, stderr: /404 InvalidUriPathException/ })
  t.match(await run(['explain', '--config', configFile, '--request', request(alice, { requestMetadata: {} })]), { status: 2, stderr: /400 ValidationException/ })
  const requestFile = path.join(fixture.dir, 'request.json')
  fs.writeFileSync(requestFile, request(alice))
  t.equal((await run(['explain', '--config', configFile, '--request', '@' + requestFile])).status, 0, '@FILE reads the request from a file')
})

t.test('an invalid policy is a configuration error naming the statement and field', async t => {
  const broken = structuredClone(fixture.config)
  broken.keyStores[0].policy = { Statement: [{ Sid: 'Bad', Effect: 'Allow', Principal: 'arn:aws:iam:123:role/x' }] }
  const file = path.join(fixture.dir, 'broken.json')
  fs.writeFileSync(file, JSON.stringify(broken))
  const r = await run(['explain', '--config', file, '--request', request(alice)])
  t.equal(r.status, 2)
  t.match(r.stderr, /\/keyStores\/0\/policy\/Statement\/0\/Principal: statement Bad: "arn:aws:iam:123:role\/x" is not an ARN glob/)
  broken.keyStores[0].policy = { file: 'missing.json' }
  fs.writeFileSync(file, JSON.stringify(broken))
  t.match((await run(['explain', '--config', file, '--request', request(alice)])).stderr, /\/keyStores\/0\/policy\/file: cannot read .*missing\.json: ENOENT/)
  broken.keyStores[0].policy = { file: 'missing.json', extra: 1 }
  fs.writeFileSync(file, JSON.stringify(broken))
  t.match((await run(['explain', '--config', file, '--request', request(alice)])).stderr, /a policy file reference is \{"file": "path"\} and nothing else/)
})

t.test('the shipped policy files are valid for the key stores they are written for', async t => {
  const example = structuredClone(fixture.config)
  example.keyStores[0].policy = { file: path.join(repoRoot, 'config/policies/example.json') }
  const file = path.join(fixture.dir, 'example.json')
  fs.writeFileSync(file, JSON.stringify(example))
  const createKey = JSON.stringify({ path: '/a/kms/xks/v1/keys/foo/metadata', region: 'eu-west-1', requestMetadata: { awsPrincipalArn: 'arn:aws:iam::111122223333:user/admin', kmsOperation: 'CreateKey', kmsRequestId: 'r' } })
  const r = await run(['explain', '--config', file, '--request', createKey])
  t.equal(r.status, 0, r.stdout + r.stderr)
  t.match(r.stdout, /decided by statement KmsCreateKeyAndDescribeKey/)
})
