import { createHash } from 'node:crypto'
import * as pkcs11js from 'pkcs11js'
import { classify, type Classified } from './ckr'
import type { Handle, Pkcs11Api } from './cryptoki'
import { runSync, type Steps } from './steps'

/** The tag length KMS requires (spec §6.1). */
export const TAG_BYTES = 16

function mechanism (iv: Buffer, aad: Buffer): pkcs11js.Mechanism {
  // pkcs11js points pIv/pAAD at these Buffers' memory (no copy) for the duration of the *Init call.
  const parameter: pkcs11js.AesGCM = {
    type: pkcs11js.CK_PARAMS_AES_GCM, iv, aad, ivBits: iv.length * 8, tagBits: TAG_BYTES * 8,
  }
  return { mechanism: pkcs11js.CKM_AES_GCM, parameter }
}

/** One-shot AES-GCM encrypt. Returns ciphertext‖tag in one Buffer (what C_Encrypt produces). */
export function gcmEncrypt (api: Pkcs11Api, session: Handle, key: Handle, iv: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
  return runSync(api, gcmEncryptSteps(api, session, key, iv, aad, plaintext))
}

/** gcmEncrypt as steps (steps.ts): the C_Encrypt may run off this thread. */
export function * gcmEncryptSteps (api: Pkcs11Api, session: Handle, key: Handle, iv: Buffer, aad: Buffer,
  plaintext: Buffer): Steps<Buffer> {
  api.C_EncryptInit(session, mechanism(iv, aad), key)
  return (yield { call: 'C_Encrypt', session, data: plaintext, out: Buffer.allocUnsafe(plaintext.length + TAG_BYTES) }) as Buffer
}

/**
 * One-shot AES-GCM decrypt of ciphertext‖tag. A data error in C_Decrypt (wrong tag, AAD, IV...) comes back as
 * its classification, so the caller reports it without touching the session; anything else is thrown.
 */
export function gcmDecrypt (api: Pkcs11Api, session: Handle, key: Handle, iv: Buffer, aad: Buffer,
  ciphertextAndTag: Buffer): Buffer | Classified {
  return runSync(api, gcmDecryptSteps(api, session, key, iv, aad, ciphertextAndTag))
}

/** gcmDecrypt as steps (steps.ts): the C_Decrypt may run off this thread. */
export function * gcmDecryptSteps (api: Pkcs11Api, session: Handle, key: Handle, iv: Buffer, aad: Buffer,
  ciphertextAndTag: Buffer): Steps<Buffer | Classified> {
  api.C_DecryptInit(session, mechanism(iv, aad), key)
  try {
    // SoftHSM checks the output room against the whole input (tag included) before it decrypts.
    return (yield { call: 'C_Decrypt', session, data: ciphertextAndTag, out: Buffer.allocUnsafe(ciphertextAndTag.length) }) as Buffer
  } catch (err) {
    const c = classify(err, 'decrypt')
    if (c.recovery === 'fail') return c
    throw err
  }
}

/**
 * The ciphertext data integrity value: SHA-256(AAD || CM || IV || ciphertext || tag) over decoded bytes, absent
 * fields empty, no lengths (XKS spec Appendix C). `prefix` is AAD || CM; `sealed` is ciphertext || tag, as
 * C_Encrypt returns it. Hashed piecewise to avoid a copy.
 */
export function integrityDigest (prefix: Buffer, iv: Buffer, sealed: Buffer): Buffer {
  return createHash('sha256').update(prefix).update(iv).update(sealed).digest()
}
