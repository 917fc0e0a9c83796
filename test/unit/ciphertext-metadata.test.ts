import t from 'tap'
import { AAD_SCHEME_LENGTH_PREFIXED, aadSchemeFor, currentCiphertextMetadata } from '../../src/xks/ciphertext-metadata'
import { XksError } from '../../src/xks/errors'

function rejection (cm: Buffer): XksError {
  try {
    aadSchemeFor(cm)
  } catch (e) {
    return e as XksError
  }
  throw new Error('aadSchemeFor did not throw')
}

t.test('current format is the documented 4 bytes (a compatibility promise)', async t => {
  const cm = currentCiphertextMetadata()
  t.equal(cm.toString('hex'), '58470101')
  t.equal(cm.toString('base64'), 'WEcBAQ==')
  t.ok(cm.length <= 20)
  t.equal(aadSchemeFor(cm), AAD_SCHEME_LENGTH_PREFIXED)
  t.equal(AAD_SCHEME_LENGTH_PREFIXED, 1)
})

t.test('callers get a copy they cannot use to change later Encrypts', async t => {
  currentCiphertextMetadata().fill(0)
  t.equal(currentCiphertextMetadata().toString('hex'), '58470101')
})

t.test('ciphertexts without metadata, and foreign metadata, use scheme 1', async t => {
  t.equal(aadSchemeFor(Buffer.alloc(0)), 1)
  t.equal(aadSchemeFor(Buffer.from('key_version=1')), 1)
  t.equal(aadSchemeFor(Buffer.from('X')), 1)
  t.equal(aadSchemeFor(Buffer.from([0x47, 0x58, 0x01, 0x01])), 1)
  t.equal(aadSchemeFor(Buffer.alloc(20, 0xff)), 1)
})

t.test('our magic with an unknown version, scheme or length is InvalidCiphertextException', async t => {
  const cases: Array<[string, Buffer]> = [
    ['unknown version', Buffer.from([0x58, 0x47, 0x02, 0x01])],
    ['version 0', Buffer.from([0x58, 0x47, 0x00, 0x01])],
    ['magic only', Buffer.from('XG')],
    ['truncated v1', Buffer.from([0x58, 0x47, 0x01])],
    ['v1 with trailing bytes', Buffer.from([0x58, 0x47, 0x01, 0x01, 0x00])],
    ['unknown scheme', Buffer.from([0x58, 0x47, 0x01, 0x02])],
    ['scheme 0', Buffer.from([0x58, 0x47, 0x01, 0x00])],
  ]
  for (const [name, cm] of cases) {
    const err = rejection(cm)
    t.ok(err instanceof XksError, name)
    t.equal(err.errorName, 'InvalidCiphertextException', name)
    t.equal(err.status, 400, name)
    t.match(err.message, /^ciphertextMetadata [\x20-\x7e]+$/, name)
  }
})
