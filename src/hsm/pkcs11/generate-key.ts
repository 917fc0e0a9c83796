/**
 * The one way xksgate creates a key: AES-256 generated inside the HSM (C_GenerateKey), never extractable, never
 * readable, allowed exactly the usages asked for and nothing else. Used by `xksgate keys create|rotate` and by
 * the SoftHSM provisioning of the embedded default and the tests.
 */
import { createHash } from 'node:crypto'
import * as pkcs11js from 'pkcs11js'
import { isCkr, type Handle } from './cryptoki'

export interface AesKeySpec {
  label: string
  encrypt: boolean
  decrypt: boolean
}

/** What the key ended up with where the HSM had a say. */
export interface GeneratedKey {
  handle: Handle
  /** False when the HSM refused CKA_MODIFIABLE false and the key was made modifiable instead. */
  unmodifiable: boolean
}

/** CKA_ID derived from the label: stable across re-provisioning, and unique as long as labels are. */
export function keyIdFor (label: string): Buffer {
  return createHash('sha256').update(label).digest().subarray(0, 16)
}

/**
 * The attributes every xksgate key has, generated or (for development tokens only) imported: an AES token
 * object, private, sensitive, never extractable, exactly the usages asked for.
 */
export function aesKeyTemplate (key: AesKeySpec): pkcs11js.Template {
  return [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_ENCRYPT, value: key.encrypt },
    { type: pkcs11js.CKA_DECRYPT, value: key.decrypt },
    // SoftHSM (and many HSMs) enable these by default; the key must not do more than asked.
    { type: pkcs11js.CKA_WRAP, value: false },
    { type: pkcs11js.CKA_UNWRAP, value: false },
    { type: pkcs11js.CKA_SIGN, value: false },
    { type: pkcs11js.CKA_VERIFY, value: false },
    { type: pkcs11js.CKA_DERIVE, value: false },
    { type: pkcs11js.CKA_LABEL, value: key.label },
    { type: pkcs11js.CKA_ID, value: keyIdFor(key.label) },
  ]
}

/** AES-256 generated inside the HSM (C_GenerateKey) with aesKeyTemplate, and not modifiable where the HSM allows. */
export function generateAesKey (api: Pick<pkcs11js.PKCS11, 'C_GenerateKey'>, session: Handle, key: AesKeySpec): GeneratedKey {
  const template: pkcs11js.Template = [{ type: pkcs11js.CKA_VALUE_LEN, value: 32 }, ...aesKeyTemplate(key)]
  const mechanism = { mechanism: pkcs11js.CKM_AES_KEY_GEN }
  try {
    // Nobody can later grant the key a usage (or make it extractable) through C_SetAttributeValue.
    return { handle: api.C_GenerateKey(session, mechanism, [...template, { type: pkcs11js.CKA_MODIFIABLE, value: false }]), unmodifiable: true }
  } catch (err) {
    // PKCS#11 lets an HSM refuse CKA_MODIFIABLE in a template; such an HSM gets the key without it.
    const refused = [pkcs11js.CKR_ATTRIBUTE_TYPE_INVALID, pkcs11js.CKR_ATTRIBUTE_VALUE_INVALID, pkcs11js.CKR_TEMPLATE_INCONSISTENT, pkcs11js.CKR_ATTRIBUTE_READ_ONLY]
    if (!refused.some(code => isCkr(err, code))) throw err
    return { handle: api.C_GenerateKey(session, mechanism, template), unmodifiable: false }
  }
}
