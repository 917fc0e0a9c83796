import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import { integrityDigest } from '../../src/hsm/pkcs11/gcm'
import { buildGcmAad, cdivPrefix } from '../../src/xks/gcm-aad'
import { XksError } from '../../src/xks/errors'
import { vectorPath } from '../helpers/paths'

interface GcmCase {
  name: string
  key_hex: string
  iv_hex: string
  full_aad_hex: string
  ct_hex: string
  tag_hex: string
  cdiv_hex: string
  request_fields: Record<string, string>
  response_fields: Record<string, string>
}

const vectors = JSON.parse(fs.readFileSync(vectorPath('gcm_vectors.json'), 'utf8')) as { cases: GcmCase[] }
const b64 = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'base64')
const hex = (s: string): Buffer => Buffer.from(s, 'hex')

function gcmEncrypt (key: Buffer, iv: Buffer, aad: Buffer, plaintext: Buffer): { ct: Buffer, tag: Buffer } {
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 })
  cipher.setAAD(aad)
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return { ct, tag: cipher.getAuthTag() }
}

function gcmDecrypt (key: Buffer, iv: Buffer, aad: Buffer, ct: Buffer, tag: Buffer): Buffer {
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 })
  decipher.setAAD(aad)
  decipher.setAuthTag(tag)
  return Buffer.concat([decipher.update(ct), decipher.final()])
}

t.test('spec CDIV example (test/vectors/gcm_vectors.json, the Encrypt example of the spec)', async t => {
  const aad = b64('cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n')
  const cm = b64('a2V5X3ZlcnNpb249MQ==')
  const cdiv = integrityDigest(cdivPrefix(aad, cm), b64('HMrlRw85cAJUd5Ax'), Buffer.concat([b64('ghxkK1txeDNn3q8Y'), b64('vBxN2ncH1oEkR8WVXpmyYQ==')]))
  t.equal(cdiv.toString('base64'), 'qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=')
  t.same(cdivPrefix(aad, cm), Buffer.concat([aad, cm]))
})

t.test('empty inputs: gcmAAD is 00 00 00', async t => {
  t.equal(buildGcmAad(Buffer.alloc(0), Buffer.alloc(0)).toString('hex'), '000000')
  t.equal(cdivPrefix(Buffer.alloc(0), Buffer.alloc(0)).length, 0)
})

for (const v of vectors.cases) {
  t.test(`gcm vector ${v.name}`, async t => {
    const aad = b64(v.request_fields.additionalAuthenticatedData)
    const cm = b64(v.response_fields.ciphertextMetadata)
    const key = hex(v.key_hex)
    const iv = hex(v.iv_hex)
    const gcmAad = buildGcmAad(aad, cm)
    t.equal(gcmAad.toString('hex'), v.full_aad_hex, 'full AAD bytes')

    const { ct, tag } = gcmEncrypt(key, iv, gcmAad, b64(v.request_fields.plaintext))
    t.equal(ct.toString('hex'), v.ct_hex, 'ciphertext')
    t.equal(tag.toString('hex'), v.tag_hex, 'tag')
    t.equal(ct.toString('base64'), v.response_fields.ciphertext)
    t.equal(tag.toString('base64'), v.response_fields.authenticationTag)
    t.equal(iv.toString('base64'), v.response_fields.initializationVector)

    const cdiv = integrityDigest(cdivPrefix(aad, cm), iv, Buffer.concat([ct, tag]))
    t.equal(cdiv.toString('hex'), v.cdiv_hex, 'CDIV')
    t.equal(cdiv.toString('base64'), v.response_fields.ciphertextDataIntegrityValue)
    t.same(gcmDecrypt(key, iv, gcmAad, ct, tag), b64(v.request_fields.plaintext))
  })
}

t.test('negative vectors fail the tag check (test/vectors/gcm_vectors.json)', async t => {
  const byName = new Map(vectors.cases.map(v => [v.name, v]))
  const attempt = (v: GcmCase, aad: Buffer, cm: Buffer): void => {
    gcmDecrypt(hex(v.key_hex), hex(v.iv_hex), buildGcmAad(aad, cm), hex(v.ct_hex), hex(v.tag_hex))
  }
  const a = byName.get('A_aad_and_metadata')!
  const b = byName.get('B_aad_only')!
  const aadOf = (v: GcmCase): Buffer => b64(v.request_fields.additionalAuthenticatedData)
  const none = Buffer.alloc(0)
  t.throws(() => attempt(b, none, none), 'B without AAD')
  t.throws(() => attempt(b, b64('cHJvamVjdD1ibHVlLGRlcGFydG1lbnQ9ZmluYW5jZQ=='), none), 'B with other AAD')
  t.throws(() => attempt(a, aadOf(a), b64('a2V5X3ZlcnNpb249Mg==')), 'A with modified metadata')
  t.throws(() => attempt(a, aadOf(a), none), 'A with metadata dropped')
})

t.test('metadata moved into the AAD field fails (docs/xks-spec.md §6.3)', async t => {
  const c = vectors.cases.find(v => v.name === 'C_metadata_only')!
  const cm = b64(c.response_fields.ciphertextMetadata)
  const none = Buffer.alloc(0)
  const moved = buildGcmAad(cm, none)
  t.equal(moved.toString('hex'), '000d6b65795f76657273696f6e3d3100')
  t.not(moved.toString('hex'), c.full_aad_hex)
  t.throws(() => gcmDecrypt(hex(c.key_hex), hex(c.iv_hex), moved, hex(c.ct_hex), hex(c.tag_hex)))
  // Counter-check: the naive AAD || CM construction cannot tell the two apart
  t.same(Buffer.concat([cm, none]), Buffer.concat([none, cm]))
})

t.test('oversized inputs cannot be length-prefixed', async t => {
  const err = (fn: () => unknown): XksError => {
    try { fn() } catch (e) { return e as XksError }
    throw new Error('did not throw')
  }
  t.equal(buildGcmAad(Buffer.alloc(65535), Buffer.alloc(20)).length, 65535 + 20 + 3)
  const big = err(() => buildGcmAad(Buffer.alloc(65536), Buffer.alloc(0)))
  t.equal(big.errorName, 'UnsupportedOperationException')
  t.equal(big.status, 501)
  t.equal(err(() => buildGcmAad(Buffer.alloc(0), Buffer.alloc(256))).errorName, 'ValidationException')
  t.equal(buildGcmAad(Buffer.alloc(0), Buffer.alloc(255, 1))[2], 255)
})
