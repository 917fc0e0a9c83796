/**
 * The official test client's 21 Encrypt/Decrypt cases (test_encrypt_decrypt, docs/xks-spec.md §14): 5 refused
 * Encrypts, then 8 Encrypt → Decrypt round trips (2 cases each) on the encrypt-and-decrypt key.
 */
import { encryptBody, randomB64, SAMPLE } from './bodies'
import { checkError } from './check'
import type { RequestSpec } from './client'
import { credentialAndPrefixCases } from './credential-cases'
import { roundTrip } from './crypto-checks'
import type { SelftestCase, SelftestContext } from './suite'

const { plaintext: PLAINTEXT, hello: HELLO, aad: AAD, otherAad: OTHER_AAD } = SAMPLE
const TAMPERED = { status: 400, errorName: 'InvalidCiphertextException' }
const DECRYPTS = { plaintext: true } as const

const encryptRequest = (ctx: SelftestContext): RequestSpec =>
  ({ path: ctx.keyPath(ctx.key('encryptDecrypt'), 'encrypt'), body: encryptBody({ plaintext: PLAINTEXT }) })

export function encryptDecryptCases (): SelftestCase[] {
  // The client's large case: 4096 random plaintext bytes with 8192 random AAD bytes (docs/xks-spec.md §12).
  const largePlaintext = randomB64(4096)
  const largeAad = randomB64(8192)
  return [
    {
      name: 'Encrypt with a non-existing key → 404 KeyNotFoundException',
      run: async ctx => checkError(await ctx.client.send({ ...encryptRequest(ctx), path: ctx.keyPath('non_existing_key', 'encrypt') }), 404, 'KeyNotFoundException'),
    },
    {
      name: 'Encrypt with missing plaintext → 400 ValidationException',
      run: async ctx => checkError(await ctx.client.send({ ...encryptRequest(ctx), body: encryptBody({}) }), 400, 'ValidationException'),
    },
    ...credentialAndPrefixCases('Encrypt', encryptRequest),
    ...roundTrip('Encrypt with AAD → Decrypt without AAD', 'encryptDecrypt', { plaintext: PLAINTEXT, aad: AAD }, undefined, TAMPERED),
    ...roundTrip('Encrypt with AAD → Decrypt without AAD (again)', 'encryptDecrypt', { plaintext: PLAINTEXT, aad: AAD }, undefined, TAMPERED),
    ...roundTrip('Encrypt with AAD → Decrypt with a different AAD', 'encryptDecrypt', { plaintext: PLAINTEXT, aad: AAD }, OTHER_AAD, TAMPERED),
    ...roundTrip('Encrypt without AAD → Decrypt without AAD', 'encryptDecrypt', { plaintext: HELLO }, undefined, DECRYPTS),
    ...roundTrip('Encrypt with AAD → Decrypt with the same AAD', 'encryptDecrypt', { plaintext: HELLO, aad: AAD }, AAD, DECRYPTS),
    ...roundTrip('Encrypt with AAD and CDIV → Decrypt with the same AAD', 'encryptDecrypt', { plaintext: HELLO, aad: AAD, cdiv: true }, AAD, DECRYPTS),
    ...roundTrip('Encrypt with CDIV but without AAD → Decrypt without AAD', 'encryptDecrypt', { plaintext: HELLO, cdiv: true }, undefined, DECRYPTS),
    ...roundTrip('Encrypt of 4096 bytes with 8192 bytes of AAD → Decrypt with the same AAD', 'encryptDecrypt', { plaintext: largePlaintext, aad: largeAad }, largeAad, DECRYPTS),
  ]
}
