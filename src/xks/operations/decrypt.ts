/**
 * Decrypt (spec §Decrypt). The AAD scheme and the key version are read from the ciphertextMetadata that Encrypt
 * issued, so ciphertexts made by older proxy versions, and under older key versions, stay decryptable; any change
 * to AAD, metadata, IV or tag fails GCM authentication.
 */
import type { HsmBackend } from '../../hsm/types'
import { base64JsonObject } from '../base64'
import { readCiphertextMetadata } from '../ciphertext-metadata'
import { XksError } from '../errors'
import { buildGcmAad } from '../gcm-aad'
import { xksErrorFor } from '../hsm-failures'
import type { ExternalKey } from '../key-stores'
import type { DecryptRequestBody } from '../validate'

export async function decrypt (hsm: HsmBackend, key: ExternalKey, body: DecryptRequestBody, deadline: number): Promise<string> {
  if (key.disabled) throw new XksError('InvalidStateException')
  // Scheme 1 is the only one so far; readCiphertextMetadata rejects metadata from a scheme this version does not know.
  const { keyVersion } = readCiphertextMetadata(body.ciphertextMetadata)
  const keyLabel = key.decryptLabels.get(keyVersion)
  if (keyLabel === undefined) {
    throw new XksError('InvalidCiphertextException', `ciphertextMetadata names version ${keyVersion} of this key, which this proxy does not have (retired, or not yet configured)`)
  }
  const outcome = await hsm.decrypt({
    deadline,
    keyLabel,
    ciphertext: body.ciphertext,
    tag: body.tag,
    iv: body.iv,
    gcmAad: buildGcmAad(body.aad, body.ciphertextMetadata),
  })
  if (!outcome.ok) throw xksErrorFor(outcome.failure)
  return base64JsonObject([['plaintext', outcome.value.plaintext]])
}
