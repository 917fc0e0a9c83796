/**
 * xksgate's ciphertextMetadata. THIS BYTE FORMAT IS A COMPATIBILITY PROMISE: KMS stores the metadata an Encrypt
 * returns inside the customer's CiphertextBlob and sends it back on every Decrypt, for as long as the blob lives
 * (docs/xks-spec.md §5.2, §6.4). Every future xksgate must keep reading every version listed here.
 *
 * Format version 1 (emitted by every Encrypt), exactly 4 bytes (spec limit: 20):
 *
 *   offset  size  value
 *   0       2     magic 0x58 0x47 ('XG')
 *   2       1     format version = 0x01
 *   3       1     AAD scheme id
 *
 * AAD scheme ids:
 *   1  gcmAAD = u16be(len AAD) || AAD || u8(len CM) || CM, where CM is the ciphertextMetadata exactly as
 *      received (docs/xks-spec.md §6.3, the spec's recommended formula; see gcm-aad.ts).
 *
 * Decrypt decides the scheme from the metadata it receives (aadSchemeFor):
 *   - empty or absent: scheme 1 (ciphertexts made without metadata);
 *   - starts with the magic: must be a known format version of the right length with a known scheme id, else
 *     400 InvalidCiphertextException (typically written by a newer xksgate, after a downgrade);
 *   - anything else (e.g. metadata written by another proxy): scheme 1. The bytes are still bound into the AAD,
 *     so tampering is detected by the tag check.
 *
 * Rules for future changes: never reuse a format version or scheme id; a new version may be longer (<= 20 bytes)
 * and must start with the magic and a new version byte. Version byte 0x01 is not printable ASCII, so textual
 * metadata from other vendors only collides if it starts with 'XG'.
 */
import { XksError } from './errors'

export const AAD_SCHEME_LENGTH_PREFIXED = 1

const MAGIC_0 = 0x58 // 'X'
const MAGIC_1 = 0x47 // 'G'
const FORMAT_V1 = 0x01
const FORMAT_V1_LENGTH = 4
const KNOWN_SCHEMES: ReadonlySet<number> = new Set([AAD_SCHEME_LENGTH_PREFIXED])

const CURRENT = Buffer.from([MAGIC_0, MAGIC_1, FORMAT_V1, AAD_SCHEME_LENGTH_PREFIXED])

/** The metadata for a new Encrypt (a fresh copy, so no caller can alter what later Encrypts emit). */
export function currentCiphertextMetadata (): Buffer {
  return Buffer.from(CURRENT)
}

/** The AAD scheme to decrypt with, given the request's decoded ciphertextMetadata (empty when absent). */
export function aadSchemeFor (cm: Buffer): number {
  if (cm.length < 2 || cm[0] !== MAGIC_0 || cm[1] !== MAGIC_1) return AAD_SCHEME_LENGTH_PREFIXED
  if (cm.length < 3 || cm[2] !== FORMAT_V1) {
    throw new XksError('InvalidCiphertextException', 'ciphertextMetadata has an xksgate format version this proxy does not know; it may come from a newer xksgate')
  }
  if (cm.length !== FORMAT_V1_LENGTH) {
    throw new XksError('InvalidCiphertextException', 'ciphertextMetadata is not 4 bytes long as xksgate format version 1 requires')
  }
  if (!KNOWN_SCHEMES.has(cm[3])) {
    throw new XksError('InvalidCiphertextException', 'ciphertextMetadata names an AAD scheme this proxy does not know; it may come from a newer xksgate')
  }
  return cm[3]
}
