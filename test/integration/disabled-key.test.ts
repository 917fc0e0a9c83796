import t from 'tap'
import { assertXksError, encryptBody, randomB64, useDevServer } from '../helpers/conformance'
import { metadataFor } from '../helpers/xks-client'

// The key is disabled through an environment override of the config, as an operator would do it.
const h = useDevServer(t, { server: { env: { XKSGATE__keyStores__0__keys__foo__disabled: 'true' } } })

t.test('a disabled key reports DISABLED and refuses crypto with InvalidStateException', async t => {
  const meta = await h.send({ path: h.keyPath('foo', 'metadata'), body: { requestMetadata: metadataFor('DescribeKey') } })
  t.equal(meta.status, 200)
  t.same(meta.json, { keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'], keyStatus: 'DISABLED' })

  const encrypted = await h.send({ path: h.keyPath('foo', 'encrypt'), body: encryptBody({ plaintext: randomB64(32) }) })
  assertXksError(t, encrypted, 400, 'InvalidStateException')

  const decrypted = await h.send({
    path: h.keyPath('foo', 'decrypt'),
    body: {
      requestMetadata: metadataFor('Decrypt'),
      encryptionAlgorithm: 'AES_GCM',
      ciphertext: randomB64(16),
      initializationVector: randomB64(12),
      authenticationTag: randomB64(16),
    },
  })
  assertXksError(t, decrypted, 400, 'InvalidStateException')
})

t.test('other keys of the same store are unaffected', async t => {
  const meta = await h.send({ path: h.keyPath('encrypt_only_key', 'metadata'), body: { requestMetadata: metadataFor('CreateKey') } })
  t.same(meta.json, { keySpec: 'AES_256', keyUsage: ['ENCRYPT'], keyStatus: 'ENABLED' })
})
