/**
 * Decrypt detects a change to any field an Encrypt returned or was given: ciphertext, tag, IV, AAD and
 * ciphertextMetadata, which the GCM AAD binds (docs/xks-spec.md §6.3). Requests are signed the way KMS signs
 * them (SignedHeaders host;x-amz-date).
 */
import t from 'tap'
import {
  assertDecrypted, assertEncrypted, assertXksError, b64, decryptBody, encryptBody, fromB64, randomB64, useDevServer,
} from '../helpers/conformance'
import { recordSecrets, testLogAfterStop } from '../helpers/log-secrets'
import { metadataFor } from '../helpers/xks-client'

const h = useDevServer(t)
const sent = recordSecrets(h)
const encryptPath = (): string => h.keyPath(h.conn.keys.encryptDecrypt, 'encrypt')
const decryptPath = (): string => h.keyPath(h.conn.keys.encryptDecrypt, 'decrypt')

/** Flips the lowest bit of byte `index` (negative: from the end) of a base64 field. */
function flipByte (field: unknown, index: number): string {
  const bytes = fromB64(field)
  bytes[(index + bytes.length) % bytes.length] ^= 0x01
  return b64(bytes)
}

t.test('Decrypt detects tampering with any field', async t => {
  const aad = randomB64(64)
  const plaintext = sent.plaintextOf(100)
  const enc = await sent.send({ path: encryptPath(), body: encryptBody({ plaintext, aad }) })
  t.match(enc.sentHeaders.Authorization, /SignedHeaders=host;x-amz-date,/, 'signed like KMS')
  assertEncrypted(t, enc, { plaintext, aad })
  t.ok(enc.json.ciphertextMetadata !== undefined, 'Encrypt returned ciphertextMetadata (needed for two cases below)')
  const original = decryptBody(enc.json, aad)
  assertDecrypted(t, await sent.send({ path: decryptPath(), body: { ...original, requestMetadata: metadataFor('Decrypt') } }), plaintext)

  const tampered: Array<[string, (body: Record<string, unknown>) => void]> = [
    ['a ciphertext byte', b => { b.ciphertext = flipByte(b.ciphertext, 50) }],
    ['a tag byte', b => { b.authenticationTag = flipByte(b.authenticationTag, -1) }],
    ['an IV byte', b => { b.initializationVector = flipByte(b.initializationVector, 0) }],
    ['an AAD byte', b => { b.additionalAuthenticatedData = flipByte(b.additionalAuthenticatedData, 10) }],
    ['a ciphertextMetadata byte', b => { b.ciphertextMetadata = flipByte(b.ciphertextMetadata, 0) }],
    ['ciphertextMetadata removed', b => { delete b.ciphertextMetadata }],
  ]
  for (const [name, tamper] of tampered) {
    await t.test(name, async t => {
      const body = { ...original, requestMetadata: metadataFor('Decrypt') }
      tamper(body)
      assertXksError(t, await sent.send({ path: decryptPath(), body }), 400, 'InvalidCiphertextException')
    })
  }
  await t.test('a 16-byte IV is accepted structurally (fails authentication, not validation)', async t => {
    const body = { ...original, requestMetadata: metadataFor('Decrypt'), initializationVector: randomB64(16) }
    assertXksError(t, await sent.send({ path: decryptPath(), body }), 400, 'InvalidCiphertextException')
  })
})

testLogAfterStop(t, h, sent, { plaintexts: 1 })
