/**
 * Parses and validates the JSON body of each XKS API into a typed request (docs/xks-spec.md §4, §5, §7.4 steps 4-5).
 *
 * Judgement calls where the spec is silent (docs/xks-spec.md §16):
 * - Structural faults (missing field, wrong type, bad base64, IV not 12/16 bytes, tag not 16, metadata > 20
 *   bytes, unknown algorithm) are 400 ValidationException; sizes above our configured maxima are 501.
 *   Fields are checked in a fixed order and the first fault wins, so a 501 on an early field can precede a
 *   400 on a later one.
 * - JSON null counts as absent (validate-fields.ts).
 * - An empty AAD string is the same as no AAD (docs/xks-spec.md §16.6): both give a 0-byte `aad`.
 * - Empty plaintext (Encrypt) and empty ciphertext (Decrypt) are 400: KMS never sends them (it double-encrypts,
 *   docs/xks-spec.md §1) and zero-length GCM support varies between HSMs, so a clear 400 beats a backend-dependent 500.
 */
import { type Json, boundedBytes, fail, isAbsent, isJsonObject, payloadBytes } from './validate-fields'
import { type RequestMetadata, parseRequestMetadata } from './validate-metadata'

export type { RequestMetadata } from './validate-metadata'
export { MAX_ARN_CHARS } from './validate-metadata'

/** Configured maxima (decoded bytes). maxPlaintextBytes also bounds the Decrypt ciphertext. */
export interface SizeLimits { maxPlaintextBytes: number; maxAadBytes: number }

/** What every proxy MUST accept (docs/xks-spec.md §12). */
export const SPEC_MIN_PLAINTEXT_BYTES = 4300
export const SPEC_MIN_AAD_BYTES = 8192
export const MAX_CIPHERTEXT_METADATA_BYTES = 20

export interface HealthRequest { metadata: RequestMetadata }
export interface MetadataRequest { metadata: RequestMetadata }
/** `aadPresent` is true when the AAD has at least one byte (an empty string is the same as absent). */
export interface EncryptRequestBody { metadata: RequestMetadata; plaintext: Buffer; aad: Buffer; aadPresent: boolean; wantCdiv: boolean }
/** Absent optional fields are 0-byte buffers, as the AAD and CDIV formulas treat them (docs/xks-spec.md §6.3, §6.5). */
export interface DecryptRequestBody { metadata: RequestMetadata; ciphertext: Buffer; aad: Buffer; ciphertextMetadata: Buffer; iv: Buffer; tag: Buffer }

const EMPTY = Buffer.alloc(0)
const IV_RULE = 'initializationVector must be 12 or 16 bytes'
const TAG_RULE = 'authenticationTag must be 16 bytes'
const CM_RULE = 'ciphertextMetadata must be at most 20 bytes'

/** 400 ValidationException unless the body is a JSON object. */
export function parseJsonBody (body: Buffer): Json {
  let value: unknown
  try {
    value = JSON.parse(body.toString('utf8'))
  } catch {
    fail('The request body is not valid JSON')
  }
  if (!isJsonObject(value)) fail('The request body must be a JSON object')
  return value
}

export function validateHealth (json: Json): HealthRequest {
  return { metadata: parseRequestMetadata(json, 'health') }
}

export function validateMetadata (json: Json, metadata = parseRequestMetadata(json, 'keyMetadata')): MetadataRequest {
  return { metadata }
}

/** `metadata`: the body's requestMetadata when the caller parsed it first (to log it even if the rest is invalid). */
export function validateEncrypt (json: Json, limits: SizeLimits, metadata = parseRequestMetadata(json, 'crypto')): EncryptRequestBody {
  checkEncryptionAlgorithm(json.encryptionAlgorithm)
  const wantCdiv = parseCdivAlgorithm(json.ciphertextDataIntegrityValueAlgorithm)
  const plaintext = payloadBytes(json.plaintext, 'plaintext', limits.maxPlaintextBytes)
  if (plaintext.length === 0) fail('plaintext must not be empty')
  const aad = optionalAad(json.additionalAuthenticatedData, limits)
  return { metadata, plaintext, aad, aadPresent: aad.length > 0, wantCdiv }
}

/** `metadata`: the body's requestMetadata when the caller parsed it first (to log it even if the rest is invalid). */
export function validateDecrypt (json: Json, limits: SizeLimits, metadata = parseRequestMetadata(json, 'crypto')): DecryptRequestBody {
  checkEncryptionAlgorithm(json.encryptionAlgorithm)
  const ciphertext = payloadBytes(json.ciphertext, 'ciphertext', limits.maxPlaintextBytes)
  if (ciphertext.length === 0) fail('ciphertext must not be empty')
  const aad = optionalAad(json.additionalAuthenticatedData, limits)
  const ciphertextMetadata = isAbsent(json.ciphertextMetadata)
    ? EMPTY
    : boundedBytes(json.ciphertextMetadata, 'ciphertextMetadata', MAX_CIPHERTEXT_METADATA_BYTES, CM_RULE)
  const iv = boundedBytes(json.initializationVector, 'initializationVector', 16, IV_RULE)
  if (iv.length !== 12 && iv.length !== 16) fail(IV_RULE)
  const tag = boundedBytes(json.authenticationTag, 'authenticationTag', 16, TAG_RULE)
  if (tag.length !== 16) fail(TAG_RULE)
  return { metadata, ciphertext, aad, ciphertextMetadata, iv, tag }
}

/** v1 knows only AES_GCM; an unknown algorithm is a ValidationException like in AWS's reference (docs/xks-spec.md §16.8). */
function checkEncryptionAlgorithm (value: unknown): void {
  if (isAbsent(value)) fail('encryptionAlgorithm is required')
  if (value !== 'AES_GCM') fail('encryptionAlgorithm must be AES_GCM')
}

/** Optional; when present it must be SHA_256 and the response must then carry the CDIV (docs/xks-spec.md §5.2, §16.8). */
function parseCdivAlgorithm (value: unknown): boolean {
  if (isAbsent(value)) return false
  if (value !== 'SHA_256') fail('ciphertextDataIntegrityValueAlgorithm must be SHA_256')
  return true
}

function optionalAad (value: unknown, limits: SizeLimits): Buffer {
  if (isAbsent(value)) return EMPTY
  return payloadBytes(value, 'additionalAuthenticatedData', limits.maxAadBytes)
}
