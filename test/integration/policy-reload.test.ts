/**
 * Policies reload with the rest of the configuration (docs/authorization.md "Shedding order", last paragraph): the policy file
 * is read again when the cluster primary validates the configuration on SIGHUP, and the serving processes that
 * replace the old ones decide by the new policy.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { encryptBody, useDevServer } from '../helpers/conformance'
import { repoRoot } from '../helpers/paths'
import { until } from '../helpers/until'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-policy-reload-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
const policyFile = path.join(dir, 'policy.json')
const original = fs.readFileSync(path.join(repoRoot, 'config/policies/test-client.json'), 'utf8')
fs.writeFileSync(policyFile, original)
const h = useDevServer(t, { server: { args: ['--processes', '2', '--policy', policyFile], env: { XKSGATE__replay__allowProcessLocal: 'true' } } })
const MALLORY = 'arn:aws:iam::123456789012:user/Mallory'
const asMallory = (): Record<string, unknown> => {
  const body = encryptBody({ plaintext: 'SGVsbG8=' })
  return { ...body, requestMetadata: { ...(body.requestMetadata as object), awsPrincipalArn: MALLORY } }
}

t.test('SIGHUP after the policy file changed: the new policy decides', async t => {
  t.equal((await h.send({ path: h.keyPath('foo', 'encrypt'), body: asMallory() })).status, 403, 'denied by the policy of the start')
  fs.writeFileSync(policyFile, original.replaceAll('arn:aws:iam::123456789012:user/Alice', 'arn:aws:iam::123456789012:user/*'))
  h.server.process.kill('SIGHUP')
  await until('the reload is done', () => h.server.output().includes('reload done: every serving process runs the new configuration'), 30_000)
  for (let i = 0; i < 4; i++) t.equal((await h.send({ path: h.keyPath('foo', 'encrypt'), body: asMallory() })).status, 200, 'allowed by every new process')
})
