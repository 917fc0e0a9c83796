import t from 'tap'
import { AAD_SCHEME_LENGTH_PREFIXED, MAX_KEY_VERSION, ciphertextMetadataFor, readCiphertextMetadata } from '../../src/xks/ciphertext-metadata'
import { XksError } from '../../src/xks/errors'

function rejection (cm: Buffer): XksError {
  try {
    readCiphertextMetadata(cm)
  } catch (e) {
    return e as XksError
  }
  throw new Error('readCiphertextMetadata did not throw')
}

t.test('format 1 is the documented 4 bytes for key version 1 (a compatibility promise)', async t => {
  const cm = ciphertextMetadataFor(1)
  t.equal(cm.toString('hex'), '58470101')
  t.equal(cm.toString('base64'), 'WEcBAQ==')
  t.same(readCiphertextMetadata(cm), { aadScheme: AAD_SCHEME_LENGTH_PREFIXED, keyVersion: 1 })
  t.equal(AAD_SCHEME_LENGTH_PREFIXED, 1)
})

t.test('format 2 records the key version in 6 bytes, big-endian (a compatibility promise)', async t => {
  t.equal(ciphertextMetadataFor(2).toString('hex'), '584702010002')
  t.equal(ciphertextMetadataFor(0x1234).toString('hex'), '584702011234')
  t.equal(ciphertextMetadataFor(MAX_KEY_VERSION).toString('hex'), '58470201ffff')
  for (const version of [2, 3, 255, 256, 4660, MAX_KEY_VERSION]) {
    const cm = ciphertextMetadataFor(version)
    t.ok(cm.length <= 20, 'within the spec limit of 20 bytes')
    t.same(readCiphertextMetadata(cm), { aadScheme: 1, keyVersion: version }, `version ${version} round-trips`)
  }
})

t.test('versions outside 1..65535 are refused when encrypting', async t => {
  for (const version of [0, -1, 1.5, MAX_KEY_VERSION + 1]) t.throws(() => ciphertextMetadataFor(version), RangeError, String(version))
})

t.test('callers get a copy they cannot use to change later Encrypts', async t => {
  ciphertextMetadataFor(1).fill(0)
  ciphertextMetadataFor(2).fill(0)
  t.equal(ciphertextMetadataFor(1).toString('hex'), '58470101')
  t.equal(ciphertextMetadataFor(2).toString('hex'), '584702010002')
})

t.test('ciphertexts without metadata, and foreign metadata, use scheme 1 and key version 1', async t => {
  for (const cm of [Buffer.alloc(0), Buffer.from('key_version=1'), Buffer.from('X'), Buffer.from([0x47, 0x58, 0x01, 0x01]), Buffer.alloc(20, 0xff)]) {
    t.same(readCiphertextMetadata(cm), { aadScheme: 1, keyVersion: 1 }, cm.toString('hex'))
  }
})

t.test('our magic with an unknown version, scheme, length or key version is InvalidCiphertextException', async t => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['unknown version', Buffer.from([0x58, 0x47, 0x03, 0x01]), /format version this proxy does not know/],
    ['version 0', Buffer.from([0x58, 0x47, 0x00, 0x01]), /format version/],
    ['magic only', Buffer.from('XG'), /format version/],
    ['truncated v1', Buffer.from([0x58, 0x47, 0x01]), /not 4 bytes/],
    ['v1 with trailing bytes', Buffer.from([0x58, 0x47, 0x01, 0x01, 0x00]), /not 4 bytes/],
    ['v1 header on v2 bytes', Buffer.from([0x58, 0x47, 0x01, 0x01, 0x00, 0x02]), /not 4 bytes/],
    ['truncated v2', Buffer.from([0x58, 0x47, 0x02, 0x01, 0x00]), /not 6 bytes/],
    ['v2 with trailing bytes', Buffer.from([0x58, 0x47, 0x02, 0x01, 0x00, 0x02, 0x00]), /not 6 bytes/],
    ['v2 recording version 1', Buffer.from([0x58, 0x47, 0x02, 0x01, 0x00, 0x01]), /below 2/],
    ['v2 recording version 0', Buffer.from([0x58, 0x47, 0x02, 0x01, 0x00, 0x00]), /below 2/],
    ['unknown scheme', Buffer.from([0x58, 0x47, 0x01, 0x02]), /AAD scheme/],
    ['scheme 0', Buffer.from([0x58, 0x47, 0x01, 0x00]), /AAD scheme/],
    ['v2 unknown scheme', Buffer.from([0x58, 0x47, 0x02, 0x02, 0x00, 0x02]), /AAD scheme/],
  ]
  for (const [name, cm, message] of cases) {
    const err = rejection(cm)
    t.ok(err instanceof XksError, name)
    t.equal(err.errorName, 'InvalidCiphertextException', name)
    t.equal(err.status, 400, name)
    t.match(err.message, /^ciphertextMetadata [\x20-\x7e]+$/, name)
    t.match(err.message, message, name)
  }
})
