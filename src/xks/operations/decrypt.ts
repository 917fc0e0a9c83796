/**
 * Decrypt (spec §Decrypt). The AAD scheme is read from the ciphertextMetadata that Encrypt issued, so ciphertexts
 * made by older versions stay decryptable; any change to AAD, metadata, IV or tag fails GCM authentication.
 */
import type { HsmBackend } from '../../hsm/types'
import { base64JsonObject } from '../base64'
import { aadSchemeFor } from '../ciphertext-metadata'
import { XksError } from '../errors'
import { buildGcmAad } from '../gcm-aad'
import { xksErrorFor } from '../hsm-failures'
import type { ExternalKey } from '../key-stores'
import type { DecryptRequestBody } from '../validate'

export async function decrypt (hsm: HsmBackend, key: ExternalKey, body: DecryptRequestBody, deadline: number): Promise<string> {
  if (key.disabled) throw new XksError('InvalidStateException')
  // Scheme 1 is the only one so far; aadSchemeFor rejects metadata from a scheme this version does not know.
  aadSchemeFor(body.ciphertextMetadata)
  const outcome = await hsm.decrypt({
    deadline,
    keyLabel: key.label,
    ciphertext: body.ciphertext,
    tag: body.tag,
    iv: body.iv,
    gcmAad: buildGcmAad(body.aad, body.ciphertextMetadata),
  })
  if (!outcome.ok) throw xksErrorFor(outcome.failure)
  return base64JsonObject([['plaintext', outcome.value.plaintext]])
}
