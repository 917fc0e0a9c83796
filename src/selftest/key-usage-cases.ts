/**
 * The 14 key-usage cases the official test client runs with `-a` (docs/xks-spec.md §14): an encrypt-only key
 * encrypts but cannot decrypt, nor encrypt with a CDIV (the verification decrypt needs DECRYPT, §6.5); a
 * decrypt-only key and a key with neither usage cannot encrypt. Every refusal is 400 InvalidKeyUsageException.
 */
import { SAMPLE, type EncryptInput } from './bodies'
import { checkError } from './check'
import { encryptWith, roundTrip } from './crypto-checks'
import type { SelftestCase } from './suite'
import type { KeyRoles } from './target'

const { plaintext: PLAINTEXT, aad: AAD } = SAMPLE
const WRONG_USAGE = { status: 400, errorName: 'InvalidKeyUsageException' }

const PLAIN: Array<[string, EncryptInput]> = [
  ['with AAD', { plaintext: PLAINTEXT, aad: AAD }],
  ['without AAD', { plaintext: PLAINTEXT }],
]
const WITH_CDIV: Array<[string, EncryptInput]> = [
  ['with AAD and CDIV', { plaintext: PLAINTEXT, aad: AAD, cdiv: true }],
  ['with CDIV but without AAD', { plaintext: PLAINTEXT, cdiv: true }],
]

const refusals = (role: keyof KeyRoles, keyName: string, cases: Array<[string, EncryptInput]>): SelftestCase[] =>
  cases.map(([how, input]) => ({
    name: `Encrypt ${how} using ${keyName} → 400 InvalidKeyUsageException`,
    run: async ctx => checkError(await encryptWith(ctx, role, input), WRONG_USAGE.status, WRONG_USAGE.errorName),
  }))

export const keyUsageCases: SelftestCase[] = [
  ...roundTrip('Encrypt without AAD using the encrypt-only key → Decrypt', 'encryptOnly', { plaintext: PLAINTEXT }, undefined, WRONG_USAGE),
  ...roundTrip('Encrypt with AAD using the encrypt-only key → Decrypt', 'encryptOnly', { plaintext: PLAINTEXT, aad: AAD }, AAD, WRONG_USAGE),
  ...refusals('encryptOnly', 'the encrypt-only key', WITH_CDIV),
  ...refusals('decryptOnly', 'the decrypt-only key', [...PLAIN, ...WITH_CDIV]),
  ...refusals('impotent', 'the key with neither usage', [...PLAIN, ...WITH_CDIV]),
]
