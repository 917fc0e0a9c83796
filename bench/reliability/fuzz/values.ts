import type { Rng } from './rng'

/** Random JSON values and strings of the kinds a hostile or broken client sends. */

const ASCII = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=-_ .:'
const NASTY = ['\u0000', '\u001f', '\u007f', '\u2028', '\ud800', '\ufeff', 'é', '中', '😀', '"', '\\', '\n', '%00', '$' + '{x}']
export const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

export function randomString (rng: Rng): string {
  switch (rng.int(0, 5)) {
    case 0: return ''
    case 1: return rng.text(rng.int(1, 40), ASCII)
    case 2: return Array.from({ length: rng.int(1, 8) }, () => rng.pick(NASTY)).join('')
    case 3: return rng.text(rng.int(2000, 70_000), ASCII)
    case 4: return rng.text(rng.int(1, 64), B64)
    default: return 'arn:aws:kms:us-east-1:123456789012:key/' + rng.text(rng.int(0, 2100), ASCII)
  }
}

export function randomValue (rng: Rng, depth = 0): unknown {
  switch (rng.int(0, 9)) {
    case 0: return null
    case 1: return rng.chance(0.5)
    case 2: return rng.pick([0, -1, 1.5, 2 ** 53 + 1, -0, 1e308, 12])
    case 3: case 4: return randomString(rng)
    case 5: return depth > 2 ? [] : Array.from({ length: rng.int(0, 4) }, () => randomValue(rng, depth + 1))
    case 6: return depth > 2 ? {} : Object.fromEntries(Array.from({ length: rng.int(0, 4) }, () => [randomString(rng).slice(0, 20), randomValue(rng, depth + 1)]))
    case 7: return rng.pick(['AES_GCM', 'aes_gcm', 'AES_CBC', 'SHA_256', 'SHA_512', 'Encrypt', 'Decrypt', 'KmsHealthCheck'])
    default: return rng.text(rng.int(0, 30), B64) + rng.pick(['', '=', '=='])
  }
}

/** Standard base64 of `n` random bytes. */
export const randomB64 = (rng: Rng, n: number): string => rng.bytes(n).toString('base64')
