/**
 * The request log (docs/xks-spec.md §11): one line per request with its requestMetadata, outcome and latency,
 * checked once the server has exited and its asynchronous log is complete; never a plaintext or a secret.
 */
import t from 'tap'
import { useDevServer } from '../helpers/conformance'
import { recordSecrets, testLogAfterStop } from '../helpers/log-secrets'
import { metadataFor, XksClient } from '../helpers/xks-client'

const h = useDevServer(t)
const sent = recordSecrets(h)
const loggedRequestIds = { ok: crypto.randomUUID(), failed: crypto.randomUUID() }
const refusedRequestIds: string[] = []

t.test('requests to check in the log', async t => {
  const ok = await sent.send({ path: h.keyPath(h.conn.keys.encryptDecrypt, 'encrypt'), body: { requestMetadata: metadataFor('Encrypt', { kmsRequestId: loggedRequestIds.ok }), plaintext: sent.plaintextOf(32), encryptionAlgorithm: 'AES_GCM' } })
  t.equal(ok.status, 200)
  const failed = await sent.send({ path: h.keyPath('no_such_key', 'encrypt'), body: { requestMetadata: metadataFor('Encrypt', { kmsRequestId: loggedRequestIds.failed }), plaintext: sent.plaintextOf(32), encryptionAlgorithm: 'AES_GCM' } })
  t.equal(failed.status, 404)
  // Regression (issue 8.9): a 401 line said neither why nor which credential was presented.
  for (const credentials of [{ secretAccessKey: 'W'.repeat(44) }, { accessKeyId: 'UNKNOWNKEYID234567ABCD' }]) {
    const stranger = new XksClient({ ...h.conn, ...credentials })
    t.teardown(() => stranger.close())
    const requestMetadata = metadataFor('KmsHealthCheck')
    refusedRequestIds.push(requestMetadata.kmsRequestId as string)
    t.equal((await stranger.send({ path: h.healthPath, body: { requestMetadata } })).status, 401)
  }
})

testLogAfterStop(t, h, sent, { plaintexts: 2 })

t.test('each request is logged once, with its metadata, outcome and latency', async t => {
  const lines = h.server.output().split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>)
  const requestLines = (id: string): Array<Record<string, unknown>> => lines.filter(l => l.msg === 'xks request' && l.kmsRequestId === id)
  const [ok, ...moreOk] = requestLines(loggedRequestIds.ok)
  t.equal(moreOk.length, 0, 'one line for the request')
  t.match(ok, {
    operation: 'encrypt', keyStore: String, uriPrefix: h.conn.uriPrefix, keyId: h.conn.keys.encryptDecrypt,
    accessKeyId: h.conn.accessKeyId, region: h.conn.region, status: 200, kmsOperation: 'Encrypt',
    principal: 'arn:aws:iam::123456789012:user/Alice', latencyMs: Number, pid: Number,
  })
  t.equal(ok.errorName, undefined)
  const [failed, ...moreFailed] = requestLines(loggedRequestIds.failed)
  t.equal(moreFailed.length, 0)
  t.match(failed, { operation: 'encrypt', keyId: 'no_such_key', status: 404, errorName: 'KeyNotFoundException' })
  t.equal(lines.filter(l => l.msg === 'xks request' && l.status === 401).length, 0, 'no request line for a 401: anyone can send them (issue #17)')
  // The first few of a second get a line with the id they claim, marked unauthenticated (src/xks/refusal-sample.ts).
  const refused = lines.filter(l => l.unauthenticated === true)
  t.same(refused.map(l => l.kmsRequestId), refusedRequestIds, 'each 401 of these few has a line with its claimed kmsRequestId')
  t.match(refused, [
    { status: 401, errorName: 'AuthenticationFailedException', detail: 'Signature does not match', accessKeyId: h.conn.accessKeyId, remote: String, operation: 'health' },
    { status: 401, errorName: 'AuthenticationFailedException', detail: 'Unknown access key id', accessKeyId: 'UNKNOWNKEYID234567ABCD', remote: String },
  ], '401 lines name the reason and the access key id presented')
  t.equal(lines.filter(l => l.msg === 'xks requests rejected before authentication').length, 0, 'none left to sum')
})
