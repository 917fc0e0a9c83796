/**
 * Encrypt (spec §Encrypt). The AES-GCM AAD binds the request AAD and our ciphertextMetadata together
 * (docs/xks-spec.md §6.3); the CDIV, when asked for, is computed before the verification decrypt (spec Appendix C).
 */
import type { HsmBackend } from '../../hsm/types'
import { base64JsonObject } from '../base64'
import { ciphertextMetadataFor } from '../ciphertext-metadata'
import { XksError } from '../errors'
import { buildGcmAad, cdivPrefix } from '../gcm-aad'
import { xksErrorFor } from '../hsm-failures'
import type { ExternalKey } from '../key-stores'
import type { EncryptRequestBody } from '../validate'

export async function encrypt (hsm: HsmBackend, key: ExternalKey, body: EncryptRequestBody, deadline: number): Promise<string> {
  if (key.disabled) throw new XksError('InvalidStateException')
  // The newest version encrypts, and the metadata records which one it is (authenticated through the AAD).
  const metadata = ciphertextMetadataFor(key.version)
  const outcome = await hsm.encrypt({
    deadline,
    keyLabel: key.label,
    plaintext: body.plaintext,
    gcmAad: buildGcmAad(body.aad, metadata),
    integrityPrefix: body.wantCdiv ? cdivPrefix(body.aad, metadata) : undefined,
  })
  if (!outcome.ok) throw xksErrorFor(outcome.failure)
  const { ciphertext, tag, iv, integrityDigest } = outcome.value
  return base64JsonObject([
    ['ciphertext', ciphertext],
    ['initializationVector', iv],
    ['authenticationTag', tag],
    ['ciphertextMetadata', metadata],
    ...(integrityDigest !== undefined ? [['ciphertextDataIntegrityValue', integrityDigest] as const] : []),
  ])
}
