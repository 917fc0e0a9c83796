/**
 * What KMS or good practice rejects in a key on the token. The startup check's misfits (not AES-256,
 * extractable, readable, usages other than configured) would stop the proxy; the rest are advice.
 */
import { keyMisfits } from '../../runtime/startup-checks'
import type { TokenKey } from '../token'
import type { Usage } from './key-config'

export function keyWarnings (key: TokenKey, usage: readonly Usage[] | undefined, purpose: string): string[] {
  const warnings = keyMisfits(key, { usage, purpose })
  if (key.otherUsages.length > 0) warnings.push(`also allows ${key.otherUsages.join(', ')}: GetKeyMetadata reports them, and an XKS key needs only ENCRYPT and DECRYPT`)
  if (key.modifiable === true) warnings.push('is modifiable (CKA_MODIFIABLE true): its usages or extractability can be changed on the HSM later')
  if (key.private === false) warnings.push('is not private (CKA_PRIVATE false): it is visible without logging in')
  return warnings
}
