/**
 * The 14 key-usage cases the official test client runs with `-a` (test_encrypt_only_key, test_decrypt_only_key,
 * test_impotent_key, docs/xks-spec.md §14): an encrypt-only key encrypts but cannot decrypt, and cannot encrypt with a CDIV
 * because the verification decrypt needs DECRYPT (docs/xks-spec.md §6.5); a decrypt-only key and a key with neither usage
 * cannot encrypt at all. Every refusal is 400 InvalidKeyUsageException.
 */
import t from 'tap'
import {
  type EncryptInput, SAMPLE, assertEncrypted, assertXksError, decryptBody, encryptBody, pretty, useDevServer,
} from '../helpers/conformance'

const h = useDevServer(t, { curlStyle: true })

const { plaintext: PLAINTEXT, aad: AAD } = SAMPLE

const encrypt = async (keyId: string, input: EncryptInput): ReturnType<typeof h.send> =>
  await h.send({ path: h.keyPath(keyId, 'encrypt'), body: pretty(encryptBody(input)) })

// Encrypt-only key: Encrypt → Decrypt, without and with AAD (2 cases each).
for (const aad of [undefined, AAD]) {
  const label = aad === undefined ? 'without AAD' : 'with AAD'
  const input = { plaintext: PLAINTEXT, aad }
  let encrypted: Record<string, unknown> | undefined
  t.test(`Encrypt ${label} using an encrypt-only key`, async t => {
    const res = await encrypt(h.conn.keys.encryptOnly, input)
    assertEncrypted(t, res, input)
    if (res.status === 200) encrypted = res.json
  })
  t.test(`Decrypt ${label} using an encrypt-only key`, async t => {
    if (encrypted === undefined) { t.fail('no ciphertext: the Encrypt step failed'); return }
    const res = await h.send({ path: h.keyPath(h.conn.keys.encryptOnly, 'decrypt'), body: pretty(decryptBody(encrypted, aad)) })
    assertXksError(t, res, 400, 'InvalidKeyUsageException')
  })
}

const PLAIN: Array<[string, EncryptInput]> = [
  ['Encrypt with AAD', { plaintext: PLAINTEXT, aad: AAD }],
  ['Encrypt without AAD', { plaintext: PLAINTEXT }],
]
const WITH_CDIV: Array<[string, EncryptInput]> = [
  ['Encrypt with AAD and CDIV', { plaintext: PLAINTEXT, aad: AAD, cdiv: true }],
  ['Encrypt with CDIV but without AAD', { plaintext: PLAINTEXT, cdiv: true }],
]

const refusals: Array<{ keyName: string, keyId: () => string, cases: Array<[string, EncryptInput]> }> = [
  // Only the CDIV variants: the verification decrypt fails on an encrypt-only key.
  { keyName: 'an encrypt-only key', keyId: () => h.conn.keys.encryptOnly, cases: WITH_CDIV },
  { keyName: 'a decrypt-only key', keyId: () => h.conn.keys.decryptOnly, cases: [...PLAIN, ...WITH_CDIV] },
  { keyName: 'a key with neither usage', keyId: () => h.conn.keys.impotent, cases: [...PLAIN, ...WITH_CDIV] },
]

for (const { keyName, keyId, cases } of refusals) {
  for (const [name, input] of cases) {
    t.test(`${name} using ${keyName}`, async t => {
      assertXksError(t, await encrypt(keyId(), input), 400, 'InvalidKeyUsageException')
    })
  }
}
