/**
 * GetKeyMetadata (spec §GetKeyMetadata). Usage comes from the key's own CKA_ENCRYPT/CKA_DECRYPT attributes;
 * status from configuration, since PKCS#11 has no portable "disabled" flag.
 */
import type { HsmBackend } from '../../hsm/types'
import { xksErrorFor } from '../hsm-failures'
import type { ExternalKey } from '../key-stores'

// The spec caps keyUsage at 10 entries.
const MAX_USAGES = 10

export async function getKeyMetadata (hsm: HsmBackend, key: ExternalKey, deadline: number): Promise<string> {
  const outcome = await hsm.describeKey(key.label, deadline)
  if (!outcome.ok) throw xksErrorFor(outcome.failure)
  const attributes = outcome.value
  const usages = [
    ...(attributes.canEncrypt ? ['ENCRYPT'] : []),
    ...(attributes.canDecrypt ? ['DECRYPT'] : []),
    ...attributes.otherUsages,
  ].slice(0, MAX_USAGES)
  return JSON.stringify({
    // KMS's CreateKey accepts only AES_256; any other spec makes it reject the key, which is the right outcome.
    keySpec: `${attributes.keyType}_${attributes.keyBits}`,
    keyUsage: usages,
    keyStatus: key.disabled ? 'DISABLED' : 'ENABLED',
  })
}
