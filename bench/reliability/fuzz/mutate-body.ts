import type { Rng } from './rng'
import { B64, randomB64, randomString, randomValue } from './values'

/**
 * Mutations of an XKS request body, each naming what it did. Structural ones work on the parsed object (drop,
 * retype, add, rename, nest); textual ones on the JSON text (truncation, stray bytes, duplicate keys, non-JSON).
 */

type Json = Record<string, unknown>

/** Every path to a value in `obj`, e.g. ['requestMetadata', 'kmsRequestId']. */
function paths (obj: unknown, prefix: string[] = []): string[][] {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj) || prefix.length > 6) return [prefix]
  const out: string[][] = prefix.length > 0 ? [prefix] : []
  for (const key of Object.keys(obj)) out.push(...paths((obj as Json)[key], [...prefix, key]))
  return out
}

function parentOf (obj: Json, path: string[]): Json {
  let node: unknown = obj
  for (const key of path.slice(0, -1)) node = (node as Json)[key]
  return node as Json
}

function structural (rng: Rng, body: Json): string {
  const all = paths(body)
  if (all.length === 0) { body[randomString(rng).slice(0, 20)] = randomValue(rng); return 'a field into an empty body' }
  const path = rng.pick(all)
  const parent = parentOf(body, path)
  const key = path[path.length - 1]
  switch (rng.int(0, 5)) {
    case 0: delete parent[key]; return `drop ${path.join('.')}`
    case 1: parent[key] = randomValue(rng); return `retype ${path.join('.')}`
    case 2: {
      const target = typeof parent[key] === 'object' && parent[key] !== null && !Array.isArray(parent[key]) ? parent[key] as Json : parent
      target[rng.pick(['extra', 'Plaintext', '__proto__', 'constructor', randomString(rng).slice(0, 30)])] = randomValue(rng)
      return `add a field near ${path.join('.')}`
    }
    case 3: {
      const value = parent[key]
      delete parent[key]
      parent[rng.pick([key.toUpperCase(), key.toLowerCase(), key + ' ', ' ' + key, key.slice(1)])] = value
      return `rename ${path.join('.')}`
    }
    case 4: {
      let nested: unknown = parent[key]
      const depth = rng.int(10, 1500)
      for (let i = 0; i < depth; i++) nested = rng.chance(0.5) ? [nested] : { a: nested }
      parent[key] = nested
      return `nest ${path.join('.')} ${depth} deep`
    }
    default: parent[key] = randomString(rng); return `string into ${path.join('.')}`
  }
}

function textual (rng: Rng, text: string): Buffer {
  switch (rng.int(0, 7)) {
    case 0: return Buffer.from(text.slice(0, rng.int(0, text.length - 1)))
    case 1: {
      const b = Buffer.from(text)
      for (let i = rng.int(1, 4); i > 0; i--) b[rng.int(0, b.length - 1)] = rng.int(0, 255)
      return b
    }
    case 2: return Buffer.from(text.replace('{', `{"${rng.pick(['plaintext', 'requestMetadata', 'encryptionAlgorithm', 'ciphertext'])}":${JSON.stringify(randomValue(rng))},`))
    case 3: return Buffer.from(rng.pick(['', 'null', '[]', '"x"', '42', 'true', '{', '}', '{}', '\ufeff' + text, text + text, ' '.repeat(rng.int(1, 9000)) + text, text + ',']))
    case 4: return rng.bytes(rng.int(1, 300))
    case 5: return Buffer.from(text.replace(/:/, ': '.repeat(rng.int(1, 50))))
    case 6: return Buffer.from('['.repeat(rng.int(100, 60_000)))
    default: return Buffer.from(text.replace(/"([A-Za-z]+)":/, (_m, k: string) => `"${k}\\u0000":`))
  }
}

export function mutateJson (rng: Rng, body: Json): { body: Buffer, what: string } {
  if (rng.chance(0.6)) {
    const what: string[] = []
    for (let i = rng.int(1, 3); i > 0; i--) what.push(structural(rng, body))
    return { body: Buffer.from(JSON.stringify(body)), what: what.join(', ') }
  }
  return { body: textual(rng, JSON.stringify(body)), what: 'JSON text' }
}

const B64_FIELDS = ['plaintext', 'additionalAuthenticatedData', 'ciphertext', 'initializationVector', 'authenticationTag', 'ciphertextMetadata']

function mutateB64 (rng: Rng, s: string): unknown {
  const at = rng.int(0, s.length)
  switch (rng.int(0, 10)) {
    case 0: return s.slice(0, at) + rng.pick(['!', '*', '-', '_', ' ', '\n', '\t', '.', 'é', '=']) + s.slice(at)
    case 1: return s.replace(/=+$/, '')
    case 2: return s + rng.pick(['=', '==', '==='])
    case 3: return s.replace(/\+/g, '-').replace(/\//g, '_') + (s.includes('+') || s.includes('/') ? '' : '-')
    case 4: return s.slice(0, Math.max(0, s.length - rng.int(1, 3)))
    case 5: return s + rng.text(rng.int(1, 3), B64)
    case 6: return randomB64(rng, rng.pick([0, 1, 11, 13, 15, 17, 20, 21, 32, 4301, 8193, 9000]))
    case 7: return ''
    case 8: return rng.chance(0.5) ? s.toLowerCase() : s.toUpperCase()
    case 9: return s.length === 0 ? 'A' : s.slice(0, at) + rng.pick([...B64]) + s.slice(at + 1)
    default: return randomValue(rng)
  }
}

export function mutateBase64 (rng: Rng, body: Json): { body: Buffer, what: string } {
  const present = B64_FIELDS.filter(f => typeof body[f] === 'string')
  const field = present.length > 0 && rng.chance(0.85) ? rng.pick(present) : rng.pick(B64_FIELDS)
  const value = typeof body[field] === 'string' ? body[field] as string : randomB64(rng, 16)
  body[field] = mutateB64(rng, value)
  return { body: Buffer.from(JSON.stringify(body)), what: `base64 ${field}` }
}
