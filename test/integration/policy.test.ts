/**
 * Secondary authorization over real TLS (docs/xks-spec.md §10), with `npm run dev -- --policy
 * config/policies/test-client.json`: what the official test client sends is allowed, any other principal,
 * operation or key is denied with 403 AccessDeniedException naming the deciding statement in the log and the
 * metrics, and GetHealthStatus is never subject to the policy.
 */
import path from 'node:path'
import t from 'tap'
import { assertXksError, assertSuccess, decryptBody, encryptBody, healthBody, useDevServer } from '../helpers/conformance'
import { repoRoot } from '../helpers/paths'
import { until } from '../helpers/until'
import { metadataFor } from '../helpers/xks-client'

const h = useDevServer(t, { curlStyle: true, server: { args: ['--policy', path.join(repoRoot, 'config/policies/test-client.json')] } })
const ALICE = 'arn:aws:iam::123456789012:user/Alice'
const MALLORY = 'arn:aws:iam::123456789012:user/Mallory'
const asPrincipal = (body: Record<string, unknown>, awsPrincipalArn: string): Record<string, unknown> =>
  ({ ...body, requestMetadata: { ...(body.requestMetadata as object), awsPrincipalArn } })
const logLines = (): Array<Record<string, unknown>> =>
  h.server.output().split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>)
const lineFor = (kmsRequestId: unknown): Record<string, unknown> | undefined =>
  logLines().find(l => l.msg === 'xks request' && l.kmsRequestId === kmsRequestId)

t.test('what the test client sends is allowed, and the log names the allowing statement', async t => {
  const body = encryptBody({ plaintext: 'SGVsbG8=' })
  const encrypted = await h.send({ path: h.keyPath('foo', 'encrypt'), body })
  assertSuccess(t, encrypted, ['ciphertext', 'initializationVector', 'authenticationTag', 'ciphertextMetadata'])
  assertSuccess(t, await h.send({ path: h.keyPath('foo', 'decrypt'), body: decryptBody(encrypted.json) }), ['plaintext'])
  const metadata = await h.send({ path: h.keyPath('foo', 'metadata'), body: { requestMetadata: metadataFor('CreateKey', { kmsViaService: 'ebs' }) } })
  assertSuccess(t, metadata, ['keySpec', 'keyUsage', 'keyStatus'])
  await until('the allowed request is logged', () => lineFor((body.requestMetadata as Record<string, unknown>).kmsRequestId) !== undefined)
  t.match(lineFor((body.requestMetadata as Record<string, unknown>).kmsRequestId), { status: 200, principal: ALICE, policySid: 'TestClientEncrypt' })
})

t.test('another principal is denied with 403 AccessDeniedException, logged with the deciding statement', async t => {
  const body = asPrincipal(encryptBody({ plaintext: 'SGVsbG8=' }), MALLORY)
  const res = await h.send({ path: h.keyPath('foo', 'encrypt'), body })
  assertXksError(t, res, 403, 'AccessDeniedException')
  t.match(res.json.errorMessage, /no statement of the proxy policy allows this request/)
  const id = (body.requestMetadata as Record<string, unknown>).kmsRequestId
  await until('the denial is logged', () => lineFor(id) !== undefined)
  t.match(lineFor(id), { status: 403, errorName: 'AccessDeniedException', principal: MALLORY, policySid: 'implicit-deny', detail: 'policy implicit-deny' })
})

t.test('what the test client never sends is denied: another key, another kmsOperation, a missing condition field', async t => {
  const denied = [
    { path: h.keyPath('decrypt_only_key', 'decrypt'), body: { ...decryptBody({ ciphertext: 'AAAA', initializationVector: 'AAAAAAAAAAAAAAAA', authenticationTag: 'AAAAAAAAAAAAAAAAAAAAAA==' }) } },
    { path: h.keyPath('foo', 'encrypt'), body: encryptBody({ plaintext: 'SGVsbG8=', kmsOperation: 'GenerateDataKey' }) },
    { path: h.keyPath('foo', 'encrypt'), body: { ...encryptBody({ plaintext: 'SGVsbG8=' }), requestMetadata: metadataFor('Encrypt') } },
  ]
  for (const request of denied) assertXksError(t, await h.send(request), 403, 'AccessDeniedException')
  t.equal((await h.send({ path: h.keyPath('foo', 'encrypt'), body: encryptBody({ plaintext: 'SGVsbG8=' }), region: 'eu-west-1' })).status, 403, 'the SigV4 region is a condition too')
  assertXksError(t, await h.send({ path: h.keyPath('no_such_key', 'encrypt'), body: asPrincipal(encryptBody({ plaintext: 'SGVsbG8=' }), MALLORY) }), 404, 'KeyNotFoundException')
})

t.test('GetHealthStatus is never subject to the policy: 200 for any request the SigV4 check accepts', async t => {
  for (const kmsOperation of ['KmsHealthCheck', 'CreateCustomKeyStore']) {
    const res = await h.send({ path: h.healthPath, body: { requestMetadata: { kmsOperation, kmsRequestId: crypto.randomUUID() } } })
    t.equal(res.status, 200, kmsOperation)
  }
  t.equal((await h.send({ path: h.healthPath, body: healthBody(), region: 'eu-west-1' })).status, 200, 'whatever the region')
})

t.test('the decisions are counted by key store and statement', async t => {
  const metricsUrl = (h.conn as unknown as { metricsUrl: string }).metricsUrl
  const text = await (await fetch(metricsUrl)).text()
  t.match(text, /xksgate_policy_decisions_total\{key_store="dev",statement="implicit-deny",decision="deny"\} [1-9]/)
  t.match(text, /xksgate_policy_decisions_total\{key_store="dev",statement="TestClientEncrypt",decision="allow"\} [1-9]/)
})
