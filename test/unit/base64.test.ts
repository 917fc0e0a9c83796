import t from 'tap'
import { base64JsonObject, base64Length, decodeBase64, tryDecodeBase64 } from '../../src/xks/base64'
import { XksError } from '../../src/xks/errors'

t.test('accepts canonical standard padded base64', async t => {
  for (const s of ['', 'QQ==', 'SGVsbG8gV29ybGQh', 'a2V5X3ZlcnNpb249MQ==', 'AAECAwQFBgcICQoLDA0ODw==', 'SGk=', '+/+/']) {
    t.ok(tryDecodeBase64(s) !== undefined, s)
  }
  t.equal(decodeBase64('SGVsbG8gV29ybGQh', 'plaintext').toString(), 'Hello World!')
  t.equal(decodeBase64('', 'plaintext').length, 0)
})

t.test('rejects what Node would silently accept', async t => {
  const bad = [
    'SGVsbG8g!!V29ybGQh', // foreign characters (docs/xks-spec.md §6.6)
    'SGVsbG8gV29ybGQ', // missing padding
    'a2V5X3ZlcnNpb249MQ', // missing padding
    'a2V5X3ZlcnNpb249MQ=', // wrong padding
    'a2V5X3ZlcnNpb249MQ===', // too much padding
    '-_-_', // base64url alphabet
    'SGVs bG8g', // whitespace
    'SGVsbG8g\nV29ybGQh', // newline
    '=AAA', 'A=AA', 'AA=A', '====', // padding in the wrong place
    'SGl=', // non-zero bits cut off by '=' (canonical form is SGk=)
    'SGVsbG9=', // same
    'QR==', // non-zero bits cut off by '==' (canonical form is QQ==)
    'AAA\u00e9', 'AAA\u0000', 'AA\ud83d\ude00', // non-ASCII, NUL, astral
  ]
  for (const s of bad) t.equal(tryDecodeBase64(s), undefined, JSON.stringify(s))
})

t.test('decode errors are 400 ValidationException naming the field, not the value', async t => {
  try {
    decodeBase64('SGVsbG8g!!V29ybGQh', 'plaintext')
    t.fail('should throw')
  } catch (e) {
    t.ok(e instanceof XksError)
    const err = e as XksError
    t.equal(err.errorName, 'ValidationException')
    t.equal(err.status, 400)
    t.equal(err.message, 'plaintext is not valid base64')
  }
})

const encodeBase64 = (bytes: Buffer): string => JSON.parse(base64JsonObject([['v', bytes]])).v

t.test('round-trips every length and byte value through the response encoder', async t => {
  for (let n = 0; n < 64; n++) {
    const bytes = Buffer.alloc(n, 0)
    for (let i = 0; i < n; i++) bytes[i] = (i * 37 + n) & 0xff
    const s = encodeBase64(bytes)
    t.equal(s.length, base64Length(n))
    t.ok(tryDecodeBase64(s) !== undefined)
    t.same(decodeBase64(s, 'x'), bytes)
  }
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
  t.same(decodeBase64(encodeBase64(all), 'x'), all)
})

t.test('base64Length matches the spec sizes (docs/xks-spec.md §12)', async t => {
  t.equal(base64Length(4300), 5736)
  t.equal(base64Length(8192), 10924)
  t.equal(base64Length(20), 28)
  t.equal(base64Length(12), 16)
  t.equal(base64Length(16), 24)
})

t.test('base64JsonObject writes compact JSON equal to JSON.stringify', async t => {
  const fields = [['ciphertext', Buffer.from('hello')], ['initializationVector', Buffer.alloc(12, 7)], ['empty', Buffer.alloc(0)]] as const
  const json = base64JsonObject(fields)
  t.equal(json, JSON.stringify(Object.fromEntries(fields.map(([k, v]) => [k, v.toString('base64')]))))
  t.equal(base64JsonObject([]), '{}')
})
