/**
 * The 21 Encrypt/Decrypt cases of the official test client (test_encrypt_decrypt, docs/xks-spec.md §14): 5 rejected
 * Encrypts, then 8 Encrypt → Decrypt pairs (2 cases each). Asserted more strictly than the client does: exact
 * status and errorName, exactly the spec's response fields with their byte lengths, our own CDIV recomputation
 * (docs/xks-spec.md §6.5) and the decrypted plaintext itself. Bodies are pretty-printed like the client's heredocs.
 */
import t from 'tap'
import {
  type EncryptInput, SAMPLE, assertDecrypted, assertEncrypted, assertXksError, credentialAndPrefixCases, decryptBody,
  encryptBody, pretty, randomB64, testFailures, useDevServer,
} from '../helpers/conformance'
import type { SendOptions } from '../helpers/xks-client'

const h = useDevServer(t, { curlStyle: true })

const { plaintext: PLAINTEXT, hello: HELLO, aad: AAD, otherAad: OTHER_AAD } = SAMPLE
// The client's large case: 4096 random plaintext bytes with 8192 random AAD bytes in one request (docs/xks-spec.md §12).
const LARGE_PLAINTEXT = randomB64(4096)
const LARGE_AAD = randomB64(8192)

const encryptPath = (keyId = h.conn.keys.encryptDecrypt): string => h.keyPath(keyId, 'encrypt')

const encryptRequest = (): SendOptions => ({ path: encryptPath(), body: pretty(encryptBody({ plaintext: PLAINTEXT })) })

testFailures(t, h, [
  {
    name: 'Encrypt with a non-existing key',
    request: () => ({ ...encryptRequest(), path: encryptPath('non_existing_key') }),
    status: 404,
    errorName: 'KeyNotFoundException',
  },
  {
    name: 'Encrypt with missing plaintext',
    request: () => ({ path: encryptPath(), body: pretty(encryptBody({})) }),
    status: 400,
    errorName: 'ValidationException',
  },
  ...credentialAndPrefixCases(h, 'Encrypt', encryptRequest),
])

/** The Decrypt's AAD (undefined: left out) and whether it must succeed or fail GCM authentication. */
interface RoundTrip { name: string, encrypt: EncryptInput, decryptAad: string | undefined, decrypts: boolean }

const roundTrips: RoundTrip[] = [
  // The client runs this one twice.
  { name: 'with AAD, Decrypt without AAD', encrypt: { plaintext: PLAINTEXT, aad: AAD }, decryptAad: undefined, decrypts: false },
  { name: 'with AAD, Decrypt without AAD (again)', encrypt: { plaintext: PLAINTEXT, aad: AAD }, decryptAad: undefined, decrypts: false },
  { name: 'with AAD, Decrypt with a different AAD', encrypt: { plaintext: PLAINTEXT, aad: AAD }, decryptAad: OTHER_AAD, decrypts: false },
  { name: 'without AAD, Decrypt without AAD', encrypt: { plaintext: HELLO }, decryptAad: undefined, decrypts: true },
  { name: 'with AAD, Decrypt with the same AAD', encrypt: { plaintext: HELLO, aad: AAD }, decryptAad: AAD, decrypts: true },
  { name: 'with AAD and CDIV, Decrypt with the same AAD', encrypt: { plaintext: HELLO, aad: AAD, cdiv: true }, decryptAad: AAD, decrypts: true },
  { name: 'with CDIV but without AAD, Decrypt without AAD', encrypt: { plaintext: HELLO, cdiv: true }, decryptAad: undefined, decrypts: true },
  {
    name: 'with 4096-byte plaintext and 8192-byte AAD, Decrypt with the same AAD',
    encrypt: { plaintext: LARGE_PLAINTEXT, aad: LARGE_AAD },
    decryptAad: LARGE_AAD,
    decrypts: true,
  },
]

for (const rt of roundTrips) {
  let encrypted: Record<string, unknown> | undefined
  t.test(`Encrypt ${rt.name}: Encrypt`, async t => {
    const res = await h.send({ path: encryptPath(), body: pretty(encryptBody(rt.encrypt)) })
    assertEncrypted(t, res, rt.encrypt)
    if (res.status === 200) encrypted = res.json
  })
  t.test(`Encrypt ${rt.name}: Decrypt`, async t => {
    if (encrypted === undefined) { t.fail('no ciphertext: the Encrypt step failed'); return }
    const res = await h.send({ path: h.keyPath(h.conn.keys.encryptDecrypt, 'decrypt'), body: pretty(decryptBody(encrypted, rt.decryptAad)) })
    if (rt.decrypts) assertDecrypted(t, res, String(rt.encrypt.plaintext))
    else assertXksError(t, res, 400, 'InvalidCiphertextException')
  })
}
