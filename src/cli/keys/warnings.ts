/**
 * What KMS or good practice rejects in a key on the token. The misfits (not AES-256, extractable, readable,
 * usages other than configured) would stop the proxy's start; the advice is good practice.
 */
import { keyMisfits } from '../../runtime/startup-checks'
import type { TokenKey } from '../token'
import type { Usage } from './key-config'

export interface KeyFindings { misfits: string[], advice: string[] }

export function keyFindings (key: TokenKey, usage: readonly Usage[] | undefined, purpose: string): KeyFindings {
  const advice: string[] = []
  if (key.otherUsages.length > 0) advice.push(`also allows ${key.otherUsages.join(', ')}: GetKeyMetadata reports them, and an XKS key needs only ENCRYPT and DECRYPT`)
  if (key.modifiable === true) advice.push('is modifiable (CKA_MODIFIABLE true): its usages or extractability can be changed on the HSM later')
  if (key.private === false) advice.push('is not private (CKA_PRIVATE false): it is visible without logging in')
  return { misfits: keyMisfits(key, { usage, purpose }), advice }
}

export function keyWarnings (key: TokenKey, usage: readonly Usage[] | undefined, purpose: string): string[] {
  const { misfits, advice } = keyFindings(key, usage, purpose)
  return [...misfits, ...advice]
}
