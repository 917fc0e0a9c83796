/**
 * New SigV4 credentials by KMS's rules (docs/xks-spec.md §8.1): an access key id of 20 characters of [A-Z2-7]
 * (100 random bits; it identifies the secret and reveals nothing about it) and a secret of 32 random bytes in
 * base64, 44 characters (256 bits of entropy, the spec's minimum).
 */
import crypto from 'node:crypto'

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
const ACCESS_KEY_ID_LENGTH = 20

export function newAccessKeyId (): string {
  // 256 is a multiple of 32, so the low five bits of a random byte are uniform.
  return Array.from(crypto.randomBytes(ACCESS_KEY_ID_LENGTH), byte => BASE32[byte & 31]).join('')
}

export function newSecretAccessKey (): string {
  return crypto.randomBytes(32).toString('base64')
}
