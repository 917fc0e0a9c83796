/**
 * The byte strings that bind the request's AAD and the ciphertextMetadata into AES-GCM and into the CDIV.
 */
import { XksError } from './errors'

/** The u16 length prefix caps the AAD (docs/xks-spec.md §6.3); the validator answers 501 above its configured maximum. */
export const MAX_GCM_AAD_BYTES = 0xffff
/** The u8 length prefix caps the metadata; the spec's own limit is far lower (20 bytes, docs/xks-spec.md §6.4). */
const MAX_CM_BYTES = 0xff

/**
 * gcmAAD = u16be(len AAD) || AAD || u8(len CM) || CM (docs/xks-spec.md §6.3, AAD scheme 1).
 * The length prefixes stop metadata from being moved into the AAD field (or back) with the tag still valid.
 * Absent fields are 0-byte buffers; their length bytes are still written.
 */
export function buildGcmAad (aad: Buffer, cm: Buffer): Buffer {
  // Both guards are unreachable for validated requests; they keep a caller bug from truncating a length prefix
  if (aad.length > MAX_GCM_AAD_BYTES) {
    throw new XksError('UnsupportedOperationException', 'additionalAuthenticatedData is longer than 65535 bytes')
  }
  if (cm.length > MAX_CM_BYTES) throw new XksError('ValidationException', 'ciphertextMetadata is longer than 255 bytes')
  const out = Buffer.allocUnsafe(3 + aad.length + cm.length) // every byte is written below
  out.writeUInt16BE(aad.length, 0)
  aad.copy(out, 2)
  out[2 + aad.length] = cm.length
  cm.copy(out, 3 + aad.length)
  return out
}

/**
 * AAD || CM: the start of the CDIV input (docs/xks-spec.md §6.5), raw bytes without length prefixes. The HSM
 * backend appends IV, ciphertext and tag and hashes (hsm/pkcs11/gcm.ts `integrityDigest`) right after the
 * encrypt, before the verification decrypt, as the spec's Appendix C orders.
 */
export function cdivPrefix (aad: Buffer, cm: Buffer): Buffer {
  return Buffer.concat([aad, cm])
}
