import t from 'tap'
import { XksError } from '../../src/xks/errors'
import {
  type SizeLimits, MAX_ARN_CHARS, parseJsonBody, validateDecrypt, validateEncrypt, validateHealth,
  validateMetadata,
} from '../../src/xks/validate'

type Json = Record<string, unknown>
type Operation = 'health' | 'metadata' | 'encrypt' | 'decrypt'

const LIMITS: SizeLimits = { maxPlaintextBytes: 4300, maxAadBytes: 8192 }
const DELETE = Symbol('delete')

const META = {
  awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice',
  kmsKeyArn: 'arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab',
  kmsOperation: 'Encrypt',
  kmsRequestId: '4112f4d6-db54-4af4-ae30-c55a22a8dfae',
  kmsViaService: 'ebs',
}
const AAD = 'cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n'
const BASE: Record<Operation, Json> = {
  health: { requestMetadata: { kmsRequestId: META.kmsRequestId, kmsOperation: 'KmsHealthCheck' } },
  metadata: { requestMetadata: { awsPrincipalArn: META.awsPrincipalArn, kmsOperation: 'CreateKey', kmsRequestId: META.kmsRequestId } },
  encrypt: {
    requestMetadata: META,
    additionalAuthenticatedData: AAD,
    plaintext: 'SGVsbG8gV29ybGQh',
    encryptionAlgorithm: 'AES_GCM',
    ciphertextDataIntegrityValueAlgorithm: 'SHA_256',
  },
  decrypt: {
    requestMetadata: { ...META, kmsOperation: 'Decrypt' },
    additionalAuthenticatedData: AAD,
    encryptionAlgorithm: 'AES_GCM',
    ciphertext: 'ghxkK1txeDNn3q8Y',
    ciphertextMetadata: 'a2V5X3ZlcnNpb249MQ==',
    initializationVector: 'HMrlRw85cAJUd5Ax',
    authenticationTag: 'vBxN2ncH1oEkR8WVXpmyYQ==',
  },
}

function run (op: Operation, json: Json, limits = LIMITS): unknown {
  switch (op) {
    case 'health': return validateHealth(json)
    case 'metadata': return validateMetadata(json)
    case 'encrypt': return validateEncrypt(json, limits)
    case 'decrypt': return validateDecrypt(json, limits)
  }
}

/** A deep copy of the operation's valid body with `path` (dot-separated) set to `value` or deleted. */
function body (op: Operation, path?: string, value?: unknown): Json {
  const copy = structuredClone(BASE[op])
  if (path === undefined) return copy
  const keys = path.split('.')
  let target = copy
  for (const key of keys.slice(0, -1)) target = target[key] as Json
  const last = keys[keys.length - 1]
  if (value === DELETE) delete target[last]
  else target[last] = value
  return copy
}

function thrown (fn: () => unknown): XksError {
  try {
    fn()
  } catch (e) {
    if (e instanceof XksError) return e
    throw e
  }
  throw new Error('did not throw')
}

const b64 = (n: number): string => Buffer.alloc(n, 7).toString('base64')

t.test('valid spec bodies parse into typed requests', async t => {
  const enc = validateEncrypt(body('encrypt'), LIMITS)
  t.equal(enc.plaintext.toString(), 'Hello World!')
  t.equal(enc.aad.toString(), 'project=nile,department=marketing')
  t.equal(enc.aadPresent, true)
  t.equal(enc.wantCdiv, true)
  t.same(enc.metadata, META)

  const dec = validateDecrypt(body('decrypt'), LIMITS)
  t.equal(dec.ciphertext.length, 12)
  t.equal(dec.ciphertextMetadata.toString(), 'key_version=1')
  t.equal(dec.iv.length, 12)
  t.equal(dec.tag.length, 16)
  t.equal(dec.metadata.kmsOperation, 'Decrypt')

  t.same(validateHealth(body('health')).metadata, { kmsRequestId: META.kmsRequestId, kmsOperation: 'KmsHealthCheck' })
  t.equal(validateMetadata(body('metadata')).metadata.awsPrincipalArn, META.awsPrincipalArn)
})

t.test('optional fields absent, empty or null', async t => {
  const enc = validateEncrypt(body('encrypt', 'additionalAuthenticatedData', DELETE), LIMITS)
  t.equal(enc.aad.length, 0)
  t.equal(enc.aadPresent, false)
  t.equal(validateEncrypt(body('encrypt', 'additionalAuthenticatedData', ''), LIMITS).aadPresent, false, 'empty AAD = absent (§16.6)')
  t.equal(validateEncrypt(body('encrypt', 'additionalAuthenticatedData', null), LIMITS).aadPresent, false, 'null = absent')
  t.equal(validateEncrypt(body('encrypt', 'ciphertextDataIntegrityValueAlgorithm', DELETE), LIMITS).wantCdiv, false)
  t.equal(validateEncrypt(body('encrypt', 'ciphertextDataIntegrityValueAlgorithm', null), LIMITS).wantCdiv, false)
  t.equal(validateDecrypt(body('decrypt', 'ciphertextMetadata', DELETE), LIMITS).ciphertextMetadata.length, 0)
  t.equal(validateDecrypt(body('decrypt', 'ciphertextMetadata', ''), LIMITS).ciphertextMetadata.length, 0)
  t.equal(validateDecrypt(body('decrypt', 'requestMetadata.kmsViaService', null), LIMITS).metadata.kmsViaService, undefined)
})

t.test('spec minima and limits are accepted (docs/xks-spec.md §12)', async t => {
  const big = validateEncrypt({ ...body('encrypt'), plaintext: b64(4300), additionalAuthenticatedData: b64(8192) }, LIMITS)
  t.equal(big.plaintext.length, 4300)
  t.equal(big.aad.length, 8192)
  t.equal(validateDecrypt({ ...body('decrypt'), ciphertext: b64(4300), additionalAuthenticatedData: b64(8192) }, LIMITS).ciphertext.length, 4300)
  t.equal(validateDecrypt(body('decrypt', 'initializationVector', b64(16)), LIMITS).iv.length, 16)
  t.equal(validateDecrypt(body('decrypt', 'ciphertextMetadata', b64(20)), LIMITS).ciphertextMetadata.length, 20)
  t.equal(validateDecrypt(body('decrypt', 'ciphertextMetadata', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA='), LIMITS).ciphertextMetadata.length, 20)
  const arn = 'arn:aws:iam::123456789012:role/' + 'r'.repeat(MAX_ARN_CHARS - 31)
  t.equal(arn.length, 2048)
  t.equal(validateEncrypt(body('encrypt', 'requestMetadata.awsPrincipalArn', arn), LIMITS).metadata.awsPrincipalArn, arn)
  t.equal(validateEncrypt(body('encrypt', 'requestMetadata.kmsKeyArn', arn), LIMITS).metadata.kmsKeyArn, arn)
  const larger = { maxPlaintextBytes: 6000, maxAadBytes: 65535 }
  t.equal(validateEncrypt({ ...body('encrypt'), plaintext: b64(6000), additionalAuthenticatedData: b64(65535) }, larger).aad.length, 65535)
})

t.test('unknown fields, unknown kmsOperation and odd principals are tolerated (docs/xks-spec.md §4.1)', async t => {
  for (const op of ['health', 'metadata', 'encrypt', 'decrypt'] as const) {
    const json = body(op, 'requestMetadata.kmsOperation', 'BulkEncrypt')
    json.futureField = { nested: [1, 2, 3] }
    ;(json.requestMetadata as Json).kmsRecipientAttestationPCR0 = 'abc'
    ;(json.requestMetadata as Json).SourceIdentity = 42
    t.doesNotThrow(() => run(op, json), op)
  }
  t.doesNotThrow(() => validateMetadata(body('metadata', 'requestMetadata.awsPrincipalArn', 'AWS Internal')))
  t.doesNotThrow(() => validateEncrypt(body('encrypt', 'requestMetadata.kmsRequestId', 'not-a-uuid'), LIMITS))
  // The test client's GetKeyMetadata carries kmsKeyArn and kmsViaService (docs/xks-spec.md §16.2)
  const tc = body('metadata', 'requestMetadata.kmsOperation', 'DescribeKey')
  Object.assign(tc.requestMetadata as Json, { kmsKeyArn: META.kmsKeyArn, kmsViaService: 'ebs' })
  t.equal(validateMetadata(tc).metadata.kmsKeyArn, META.kmsKeyArn)
})

const E400 = ['ValidationException', 400] as const
const E501 = ['UnsupportedOperationException', 501] as const
type Row = [Operation, string | undefined, unknown, readonly [string, number], string?]

/** [operation, field path, replacement value (DELETE removes it), expected error, expected message]. */
const TABLE: Row[] = [
  // requestMetadata shape (docs/xks-spec.md §4.1, §16.1: health too)
  ...(['health', 'metadata', 'encrypt', 'decrypt'] as const).flatMap((op): Row[] => [
    [op, 'requestMetadata', DELETE, E400, 'requestMetadata is required'],
    [op, 'requestMetadata', null, E400, 'requestMetadata is required'],
    [op, 'requestMetadata', {}, E400, 'requestMetadata.kmsRequestId is required'],
    [op, 'requestMetadata', 'x', E400, 'requestMetadata must be an object'],
    [op, 'requestMetadata', [], E400, 'requestMetadata must be an object'],
    [op, 'requestMetadata.kmsRequestId', DELETE, E400, 'requestMetadata.kmsRequestId is required'],
    [op, 'requestMetadata.kmsRequestId', 5, E400, 'requestMetadata.kmsRequestId must be a string'],
    [op, 'requestMetadata.kmsRequestId', '', E400, 'requestMetadata.kmsRequestId must not be empty'],
    [op, 'requestMetadata.kmsOperation', DELETE, E400, 'requestMetadata.kmsOperation is required'],
    [op, 'requestMetadata.kmsOperation', true, E400, 'requestMetadata.kmsOperation must be a string'],
    [op, 'requestMetadata.awsSourceVpc', 1, E400, 'requestMetadata.awsSourceVpc must be a string'],
    [op, 'requestMetadata.awsSourceVpce', {}, E400, 'requestMetadata.awsSourceVpce must be a string'],
    [op, 'requestMetadata.kmsViaService', [], E400, 'requestMetadata.kmsViaService must be a string'],
    [op, 'requestMetadata.awsPrincipalArn', 'a'.repeat(2049), E501, 'requestMetadata.awsPrincipalArn is longer than 2048 characters'],
    [op, 'requestMetadata.kmsKeyArn', 'a'.repeat(2049), E501, 'requestMetadata.kmsKeyArn is longer than 2048 characters'],
  ]),
  // Presence matrix (docs/xks-spec.md §4.2)
  ...(['metadata', 'encrypt', 'decrypt'] as const).flatMap((op): Row[] => [
    [op, 'requestMetadata.awsPrincipalArn', DELETE, E400, 'requestMetadata.awsPrincipalArn is required'],
    [op, 'requestMetadata.awsPrincipalArn', 7, E400, 'requestMetadata.awsPrincipalArn must be a string'],
  ]),
  ...(['encrypt', 'decrypt'] as const).flatMap((op): Row[] => [
    [op, 'requestMetadata.kmsKeyArn', DELETE, E400, 'requestMetadata.kmsKeyArn is required'],
    [op, 'requestMetadata.kmsKeyArn', '', E400, 'requestMetadata.kmsKeyArn must not be empty'],
    [op, 'encryptionAlgorithm', DELETE, E400, 'encryptionAlgorithm is required'],
    [op, 'encryptionAlgorithm', 'AES_CBC', E400, 'encryptionAlgorithm must be AES_GCM'],
    [op, 'encryptionAlgorithm', 'aes_gcm', E400, 'encryptionAlgorithm must be AES_GCM'],
    [op, 'encryptionAlgorithm', 1, E400, 'encryptionAlgorithm must be AES_GCM'],
    [op, 'additionalAuthenticatedData', 5, E400, 'additionalAuthenticatedData must be a string'],
    [op, 'additionalAuthenticatedData', 'SGVsbG8g!!V29ybGQh', E400, 'additionalAuthenticatedData is not valid base64'],
    [op, 'additionalAuthenticatedData', 'cHJvamVjdD1uaWxl_GRlcGFydG1lbnQ9bWFya2V0aW5n', E400, 'additionalAuthenticatedData is not valid base64'],
    [op, 'additionalAuthenticatedData', b64(8193), E501, "additionalAuthenticatedData is longer than this proxy's maximum of 8192 bytes"],
    [op, 'additionalAuthenticatedData', b64(100000), E501],
  ]),
  ['encrypt', 'plaintext', DELETE, E400, 'plaintext is required'],
  ['encrypt', 'plaintext', null, E400, 'plaintext is required'],
  ['encrypt', 'plaintext', 12, E400, 'plaintext must be a string'],
  ['encrypt', 'plaintext', '', E400, 'plaintext must not be empty'],
  ['encrypt', 'plaintext', 'SGVsbG8gV29ybGQ', E400, 'plaintext is not valid base64'],
  ['encrypt', 'plaintext', 'SGVsbG8g!!V29ybGQh', E400, 'plaintext is not valid base64'],
  ['encrypt', 'plaintext', b64(4301), E501, "plaintext is longer than this proxy's maximum of 4300 bytes"],
  ['encrypt', 'plaintext', b64(4302), E501],
  ['encrypt', 'plaintext', 'A'.repeat(1_000_000), E501],
  ['encrypt', 'ciphertextDataIntegrityValueAlgorithm', 'SHA_384', E400, 'ciphertextDataIntegrityValueAlgorithm must be SHA_256'],
  ['encrypt', 'ciphertextDataIntegrityValueAlgorithm', '', E400, 'ciphertextDataIntegrityValueAlgorithm must be SHA_256'],
  ['encrypt', 'ciphertextDataIntegrityValueAlgorithm', true, E400, 'ciphertextDataIntegrityValueAlgorithm must be SHA_256'],
  ['decrypt', 'ciphertext', DELETE, E400, 'ciphertext is required'],
  ['decrypt', 'ciphertext', [], E400, 'ciphertext must be a string'],
  ['decrypt', 'ciphertext', '', E400, 'ciphertext must not be empty'],
  ['decrypt', 'ciphertext', 'ghxkK1txeDNn3q8Y=', E400, 'ciphertext is not valid base64'],
  ['decrypt', 'ciphertext', b64(4301), E501, "ciphertext is longer than this proxy's maximum of 4300 bytes"],
  ['decrypt', 'ciphertextMetadata', 5, E400, 'ciphertextMetadata must be a string'],
  ['decrypt', 'ciphertextMetadata', 'a2V5X3ZlcnNpb249MQ', E400, 'ciphertextMetadata is not valid base64'],
  ['decrypt', 'ciphertextMetadata', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAA', E400, 'ciphertextMetadata must be at most 20 bytes'],
  ['decrypt', 'ciphertextMetadata', b64(21), E400, 'ciphertextMetadata must be at most 20 bytes'],
  ['decrypt', 'ciphertextMetadata', b64(5000), E400, 'ciphertextMetadata must be at most 20 bytes'],
  ['decrypt', 'initializationVector', DELETE, E400, 'initializationVector is required'],
  ['decrypt', 'initializationVector', 12, E400, 'initializationVector must be a string'],
  ['decrypt', 'initializationVector', 'AAAAAAAAAAA=', E400, 'initializationVector must be 12 or 16 bytes'],
  ['decrypt', 'initializationVector', b64(13), E400, 'initializationVector must be 12 or 16 bytes'],
  ['decrypt', 'initializationVector', b64(17), E400, 'initializationVector must be 12 or 16 bytes'],
  ['decrypt', 'initializationVector', '', E400, 'initializationVector must be 12 or 16 bytes'],
  ['decrypt', 'initializationVector', 'HMrlRw85cAJUd5A!', E400, 'initializationVector is not valid base64'],
  ['decrypt', 'authenticationTag', DELETE, E400, 'authenticationTag is required'],
  ['decrypt', 'authenticationTag', 'AAAAAAAAAAAAAAAA', E400, 'authenticationTag must be 16 bytes'],
  ['decrypt', 'authenticationTag', b64(17), E400, 'authenticationTag must be 16 bytes'],
  ['decrypt', 'authenticationTag', b64(64), E400, 'authenticationTag must be 16 bytes'],
  ['decrypt', 'authenticationTag', 'vBxN2ncH1oEkR8WVXpmyYQ', E400, 'authenticationTag is not valid base64'],
]

t.test('validation table', async t => {
  for (const [op, path, value, [errorName, status], message] of TABLE) {
    const label = `${op} ${path ?? ''}=${typeof value === 'string' && value.length > 40 ? `<${value.length} chars>` : String(value)}`
    const err = thrown(() => run(op, body(op, path, value)))
    t.equal(err.errorName, errorName, label)
    t.equal(err.status, status, label)
    if (message !== undefined) t.equal(err.message, message, label)
    t.match(err.message, /^[\x20-\x7e]{1,511}$/, label)
  }
})

t.test('error messages never echo the value', async t => {
  const secret = 'U0VDUkVUU0VDUkVU!!'
  for (const field of ['plaintext', 'additionalAuthenticatedData'] as const) {
    const err = thrown(() => validateEncrypt(body('encrypt', field, secret), LIMITS))
    t.notMatch(err.message, /U0VD/)
    t.notMatch(err.toBody(), /U0VD/)
  }
})

t.test('parseJsonBody', async t => {
  t.same(parseJsonBody(Buffer.from('{"requestMetadata":{"a":1}}')), { requestMetadata: { a: 1 } })
  t.same(parseJsonBody(Buffer.from('\n{\n  "x": "y"\n}\n')), { x: 'y' })
  const bad: Array<[string, string]> = [
    ['', 'The request body is not valid JSON'],
    ['{', 'The request body is not valid JSON'],
    ['{"a":1}x', 'The request body is not valid JSON'],
    ['\ufeff{}', 'The request body is not valid JSON'],
    ['null', 'The request body must be a JSON object'],
    ['[]', 'The request body must be a JSON object'],
    ['"str"', 'The request body must be a JSON object'],
    ['42', 'The request body must be a JSON object'],
  ]
  for (const [text, message] of bad) {
    const err = thrown(() => parseJsonBody(Buffer.from(text)))
    t.equal(err.errorName, 'ValidationException', JSON.stringify(text))
    t.equal(err.status, 400)
    t.equal(err.message, message)
  }
  // A __proto__ key stays an own property: no prototype pollution
  const parsed = parseJsonBody(Buffer.from('{"__proto__":{"plaintext":"SGk="}}'))
  t.equal(({} as Json).plaintext, undefined)
  t.equal(Object.getPrototypeOf(parsed), Object.prototype)
})
