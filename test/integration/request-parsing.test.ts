/**
 * What the proxy accepts as a request body (docs/xks-spec.md §4.1, §7.4): unknown fields and unknown kmsOperation
 * values are tolerated on every API; a non-JSON Content-Type and malformed JSON are 400 ValidationException.
 */
import t from 'tap'
import { assertDecrypted, assertEncrypted, assertSuccess, assertXksError, decryptBody, encryptBody, healthBody, useDevServer } from '../helpers/conformance'
import { recordSecrets, testLogAfterStop } from '../helpers/log-secrets'
import { metadataFor } from '../helpers/xks-client'

const h = useDevServer(t)
const sent = recordSecrets(h)

t.test('unknown fields and unknown kmsOperation values are tolerated', async t => {
  const unknown = { SourceIdentity: 'someone', kmsRecipientAttestationImageSha384: 'abc', 'aws:PrincipalTag/team': 'x' }
  const plaintext = sent.plaintextOf(48)
  const enc = await sent.send({
    path: h.keyPath(h.conn.keys.encryptDecrypt, 'encrypt'),
    body: { ...encryptBody({ plaintext, kmsOperation: 'BulkEncrypt' }), futureField: { nested: [1, 2] }, requestMetadata: metadataFor('BulkEncrypt', unknown) },
  })
  assertEncrypted(t, enc, { plaintext })
  const dec = await sent.send({
    path: h.keyPath(h.conn.keys.encryptDecrypt, 'decrypt'),
    body: { ...decryptBody(enc.json), futureField: true, requestMetadata: metadataFor('BulkDecrypt', unknown) },
  })
  assertDecrypted(t, dec, plaintext)
  const meta = await sent.send({ path: h.keyPath(h.conn.keys.encryptDecrypt, 'metadata'), body: { requestMetadata: metadataFor('DescribeKeyV2', unknown), extra: 1 } })
  assertSuccess(t, meta, ['keySpec', 'keyUsage', 'keyStatus'])
  const health = await sent.send({ path: h.healthPath, body: { requestMetadata: { kmsOperation: 'FutureHealthPoll', kmsRequestId: crypto.randomUUID(), ...unknown }, extra: 'x' } })
  t.equal(health.status, 200, 'health with unknown fields', { body: health.body })
})

t.test('a non-JSON Content-Type is 400 ValidationException', async t => {
  const res = await sent.send({ path: h.healthPath, body: healthBody(), headers: { 'Content-Type': 'text/plain' } })
  assertXksError(t, res, 400, 'ValidationException')
})

t.test('invalid JSON is 400 ValidationException', async t => {
  const res = await sent.send({ path: h.healthPath, body: `{"requestMetadata": {"kmsRequestId": "${crypto.randomUUID()}",` })
  assertXksError(t, res, 400, 'ValidationException')
})

testLogAfterStop(t, h, sent, { plaintexts: 1 })
