/**
 * xksgate's ciphertextMetadata. THIS BYTE FORMAT IS A COMPATIBILITY PROMISE: KMS stores the metadata an Encrypt
 * returns inside the customer's CiphertextBlob and sends it back on every Decrypt, for as long as the blob lives
 * (docs/xks-spec.md §5.2, §6.4). Every future xksgate must keep reading every version listed here
 * (docs/ciphertext-metadata.md describes the format and the rotation it serves).
 *
 * Format version 1, exactly 4 bytes: emitted for a key at version 1 (never rotated).
 *
 *   offset  size  value
 *   0       2     magic 0x58 0x47 ('XG')
 *   2       1     format version = 0x01
 *   3       1     AAD scheme id
 *
 *   The key version is 1: the key's original HSM key.
 *
 * Format version 2, exactly 6 bytes: emitted for a key at version 2 or later (after `xksgate keys rotate`).
 *
 *   offset  size  value
 *   0       2     magic 0x58 0x47 ('XG')
 *   2       1     format version = 0x02
 *   3       1     AAD scheme id
 *   4       2     key version, unsigned big-endian, 2..65535
 *
 * AAD scheme ids:
 *   1  gcmAAD = u16be(len AAD) || AAD || u8(len CM) || CM, where CM is the ciphertextMetadata exactly as
 *      received (docs/xks-spec.md §6.3, the spec's recommended formula; see gcm-aad.ts). The key version is
 *      therefore authenticated: changing it changes the AAD, and GCM's tag check fails.
 *
 * Decrypt reads the metadata it receives (readCiphertextMetadata):
 *   - empty or absent: scheme 1, key version 1 (ciphertexts made without metadata);
 *   - starts with the magic: must be a known format version of the right length with a known scheme id (and,
 *     for version 2, a key version of 2 or more), else 400 InvalidCiphertextException (typically written by a
 *     newer xksgate, after a downgrade);
 *   - anything else (e.g. metadata written by another proxy): scheme 1, key version 1. The bytes are still bound
 *     into the AAD, so tampering is detected by the tag check.
 *
 * Rules for future changes: never reuse a format version or scheme id; a new version may be longer (<= 20 bytes)
 * and must start with the magic and a new version byte. Version bytes 0x01 and 0x02 are not printable ASCII, so
 * textual metadata from other vendors only collides if it starts with 'XG'.
 */
import { XksError } from './errors'

export const AAD_SCHEME_LENGTH_PREFIXED = 1
/** The highest key version format 2 can record. */
export const MAX_KEY_VERSION = 0xffff

const MAGIC_0 = 0x58 // 'X'
const MAGIC_1 = 0x47 // 'G'
const FORMAT_V1 = 0x01
const FORMAT_V2 = 0x02
const FORMAT_LENGTHS = new Map([[FORMAT_V1, 4], [FORMAT_V2, 6]])
const KNOWN_SCHEMES: ReadonlySet<number> = new Set([AAD_SCHEME_LENGTH_PREFIXED])

export interface CiphertextMetadataFields {
  aadScheme: number
  /** Which version of the external key encrypted: 1 is the key's original HSM key. */
  keyVersion: number
}

/** The metadata for a new Encrypt under `keyVersion` (a fresh buffer, so no caller can alter another's). */
export function ciphertextMetadataFor (keyVersion: number): Buffer {
  if (keyVersion === 1) return Buffer.from([MAGIC_0, MAGIC_1, FORMAT_V1, AAD_SCHEME_LENGTH_PREFIXED])
  // Unreachable for a validated configuration (schema: 1..65535); a bug must not wrap the version around.
  if (!Number.isInteger(keyVersion) || keyVersion < 2 || keyVersion > MAX_KEY_VERSION) throw new RangeError(`key version ${keyVersion} is outside 1..${MAX_KEY_VERSION}`)
  return Buffer.from([MAGIC_0, MAGIC_1, FORMAT_V2, AAD_SCHEME_LENGTH_PREFIXED, keyVersion >> 8, keyVersion & 0xff])
}

/** The AAD scheme and key version a Decrypt must use, from the request's decoded ciphertextMetadata (empty when absent). */
export function readCiphertextMetadata (cm: Buffer): CiphertextMetadataFields {
  if (cm.length < 2 || cm[0] !== MAGIC_0 || cm[1] !== MAGIC_1) return { aadScheme: AAD_SCHEME_LENGTH_PREFIXED, keyVersion: 1 }
  const length = cm.length < 3 ? undefined : FORMAT_LENGTHS.get(cm[2])
  if (length === undefined) {
    throw new XksError('InvalidCiphertextException', 'ciphertextMetadata has an xksgate format version this proxy does not know; it may come from a newer xksgate')
  }
  if (cm.length !== length) {
    throw new XksError('InvalidCiphertextException', `ciphertextMetadata is not ${length} bytes long as xksgate format version ${cm[2]} requires`)
  }
  if (!KNOWN_SCHEMES.has(cm[3])) {
    throw new XksError('InvalidCiphertextException', 'ciphertextMetadata names an AAD scheme this proxy does not know; it may come from a newer xksgate')
  }
  if (cm[2] === FORMAT_V1) return { aadScheme: cm[3], keyVersion: 1 }
  const keyVersion = cm.readUInt16BE(4)
  // Version 1 is always written in format 1; any other encoding of it was not written by xksgate.
  if (keyVersion < 2) throw new XksError('InvalidCiphertextException', 'ciphertextMetadata format version 2 records a key version below 2')
  return { aadScheme: cm[3], keyVersion }
}
