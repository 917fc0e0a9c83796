import * as pkcs11js from 'pkcs11js'
import type { KeyAttributes } from '../types'
import type { Handle, Pkcs11Api } from './cryptoki'

export interface CachedKey {
  handle: Handle
  attributes: KeyAttributes
}

/** CKK_* value → name without prefix ('AES', 'DES3', ...), built once from the pkcs11js constants. */
const KEY_TYPE_NAMES = new Map<number, string>()
for (const [name, value] of Object.entries(pkcs11js)) {
  if (name.startsWith('CKK_') && typeof value === 'number' && !KEY_TYPE_NAMES.has(value)) {
    KEY_TYPE_NAMES.set(value, name.slice(4))
  }
}

const OTHER_USAGES: Array<[number, string]> = [
  [pkcs11js.CKA_WRAP, 'WRAP'],
  [pkcs11js.CKA_UNWRAP, 'UNWRAP'],
  [pkcs11js.CKA_SIGN, 'SIGN'],
  [pkcs11js.CKA_VERIFY, 'VERIFY'],
  [pkcs11js.CKA_DERIVE, 'DERIVE'],
]

const ATTRIBUTE_TYPES = [pkcs11js.CKA_KEY_TYPE, pkcs11js.CKA_VALUE_LEN, pkcs11js.CKA_ENCRYPT, pkcs11js.CKA_DECRYPT,
  pkcs11js.CKA_EXTRACTABLE, pkcs11js.CKA_SENSITIVE, ...OTHER_USAGES.map(([type]) => type)]

/** CK_ULONG is 8 bytes on LP64 platforms and 4 on Windows. */
function readUlong (value: unknown): number {
  const b = value as Buffer
  return b.length >= 8 ? Number(b.readBigUInt64LE(0)) : b.readUInt32LE(0)
}

const readBool = (value: unknown): boolean => (value as Buffer)[0] !== 0

/**
 * Finds a secret key by CKA_LABEL and reads its attributes once. Returns null when there is none; throws when
 * the label is ambiguous, because picking one of two keys silently could encrypt under the wrong key.
 */
export function findKey (api: Pkcs11Api, session: Handle, label: string): CachedKey | null {
  api.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_LABEL, value: label },
  ])
  let found: Handle[]
  try {
    found = api.C_FindObjects(session, 2)
  } finally {
    api.C_FindObjectsFinal(session)
  }
  if (found.length === 0) return null
  if (found.length > 1) throw new Error(`more than one secret key has the label ${JSON.stringify(label)}`)
  const handle = found[0]
  return { handle, attributes: readKeyAttributes(api, session, handle, label) }
}

/** The attributes of the secret key `handle` (whose CKA_LABEL is `label`) that decide what it may serve. */
export function readKeyAttributes (api: Pkcs11Api, session: Handle, handle: Handle, label: string): KeyAttributes {
  const values = api.C_GetAttributeValue(session, handle, ATTRIBUTE_TYPES.map(type => ({ type })))
  const byType = new Map(values.map(a => [a.type, a.value]))
  const keyType = readUlong(byType.get(pkcs11js.CKA_KEY_TYPE))
  return {
    label,
    keyType: KEY_TYPE_NAMES.get(keyType) ?? `0x${keyType.toString(16)}`,
    keyBits: readUlong(byType.get(pkcs11js.CKA_VALUE_LEN)) * 8,
    canEncrypt: readBool(byType.get(pkcs11js.CKA_ENCRYPT)),
    canDecrypt: readBool(byType.get(pkcs11js.CKA_DECRYPT)),
    otherUsages: OTHER_USAGES.filter(([type]) => readBool(byType.get(type))).map(([, name]) => name),
    extractable: readBool(byType.get(pkcs11js.CKA_EXTRACTABLE)),
    sensitive: readBool(byType.get(pkcs11js.CKA_SENSITIVE)),
  }
}
