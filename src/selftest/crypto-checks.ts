/**
 * Encrypt and Decrypt answers checked field by field (docs/xks-spec.md §5.2, §5.3, §6.5): the ciphertext as long
 * as the plaintext, an IV of 12 or 16 bytes, a 16-byte tag, ciphertextMetadata of at most 20 bytes, the CDIV
 * exactly when asked for and equal to our own computation, and the plaintext given back byte for byte.
 */
import { decryptBody, encryptBody, type EncryptInput } from './bodies'
import { cdivOf, check, checkB64, checkError, checkSuccess, fromB64 } from './check'
import type { XksReply } from './client'
import type { SelftestCase, SelftestContext } from './suite'
import type { KeyRoles } from './target'

export function checkEncrypted (res: XksReply, input: EncryptInput): void {
  const fields = ['ciphertext', 'initializationVector', 'authenticationTag']
  if (res.json.ciphertextMetadata !== undefined) fields.push('ciphertextMetadata')
  if (input.cdiv === true) fields.push('ciphertextDataIntegrityValue')
  checkSuccess(res, fields)
  checkB64(res.json.ciphertext, 'ciphertext', [fromB64(input.plaintext).length])
  checkB64(res.json.initializationVector, 'initializationVector', [12, 16])
  checkB64(res.json.authenticationTag, 'authenticationTag', [16])
  if (res.json.ciphertextMetadata !== undefined) {
    checkB64(res.json.ciphertextMetadata, 'ciphertextMetadata', Array.from({ length: 21 }, (_, i) => i))
  }
  if (input.cdiv === true) {
    checkB64(res.json.ciphertextDataIntegrityValue, 'ciphertextDataIntegrityValue', [32])
    check(res.json.ciphertextDataIntegrityValue === cdivOf(input.aad, res.json), 'ciphertextDataIntegrityValue is not SHA-256(AAD || CM || IV || ciphertext || tag)')
  }
}

export function checkDecrypted (res: XksReply, plaintext: string | undefined): void {
  checkSuccess(res, ['plaintext'])
  check(res.json.plaintext === plaintext, 'the plaintext that came back is not the one encrypted')
}

export async function encryptWith (ctx: SelftestContext, role: keyof KeyRoles, input: EncryptInput): Promise<XksReply> {
  return await ctx.client.send({ path: ctx.keyPath(ctx.key(role), 'encrypt'), body: encryptBody(input) })
}

/** What a Decrypt must give: the plaintext back, or this error. */
export type DecryptOutcome = { plaintext: true } | { status: number, errorName: string }

/**
 * Two cases, as the official client counts them: an Encrypt with `input`, then a Decrypt of its answer with
 * `decryptAad` (undefined: none) whose outcome must be `expect`. The Decrypt fails when the Encrypt did.
 */
export function roundTrip (name: string, role: keyof KeyRoles, input: EncryptInput, decryptAad: string | undefined, expect: DecryptOutcome): SelftestCase[] {
  let encrypted: Record<string, unknown> | undefined
  return [
    {
      name: `${name}: Encrypt`,
      run: async ctx => {
        encrypted = undefined
        const res = await encryptWith(ctx, role, input)
        checkEncrypted(res, input)
        encrypted = res.json
      },
    },
    {
      name: `${name}: Decrypt` + ('plaintext' in expect ? '' : ` → ${expect.status} ${expect.errorName}`),
      run: async ctx => {
        check(encrypted !== undefined, 'no ciphertext to decrypt: the Encrypt before failed')
        const res = await ctx.client.send({ path: ctx.keyPath(ctx.key(role), 'decrypt'), body: decryptBody(encrypted, decryptAad) })
        if ('plaintext' in expect) checkDecrypted(res, input.plaintext)
        else checkError(res, expect.status, expect.errorName)
      },
    },
  ]
}
