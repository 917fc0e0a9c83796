import type { Signer } from '../../sign'
import { ID_HOLE, type Template } from '../../loadgen/templates'
import { mutateBase64, mutateJson } from './mutate-body'
import { mutateFraming, mutateHeaders, mutateSigv4 } from './mutate-http'
import { type RawRequest, serialize, signedRequest } from './request'
import { Rng } from './rng'

/** One fuzzed request: case `n` of `seed`, rebuilt identically from those two numbers (apart from the date). */
export interface FuzzCase {
  n: number
  kind: 'json' | 'base64' | 'headers' | 'sigv4' | 'framing'
  what: string
  bytes: Buffer
  /** The server may answer by closing the connection (framing it cannot trust); sent on a connection of its own. */
  mayClose: boolean
  endAfterWrite: boolean
  /** Written in several small pieces. */
  split: boolean
}

export interface FuzzTarget {
  hostHeader: string
  signer: Signer
  /** The benchmark's request templates: Encrypt, Decrypt of real ciphertexts, GetKeyMetadata, GetHealthStatus. */
  templates: Template[]
  /** The signing clock (Date.now by default): the only input of a case besides (seed, n). */
  now?: () => number
}

const KINDS: Array<[FuzzCase['kind'], number]> = [['json', 30], ['base64', 20], ['headers', 15], ['sigv4', 20], ['framing', 15]]

function pickKind (rng: Rng): FuzzCase['kind'] {
  let roll = rng.int(1, 100)
  for (const [kind, weight] of KINDS) if ((roll -= weight) <= 0) return kind
  return 'json'
}

/**
 * A header value with bytes outside printable ASCII and tab: RFC 9110 §5.5 forbids controls, and uWS closes the
 * connection on them (framing it cannot trust), so such a case may be answered by a close.
 */
const badFieldBytes = (r: RawRequest): boolean => r.headers.some(([, v]) => /[^\x20-\x7e\t]/.test(v))

/** A kmsRequestId drawn from the case's own stream, so a replayed case carries the same one. */
function uuidFrom (rng: Rng): string {
  const hex = rng.bytes(16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`
}

export function buildCase (target: FuzzTarget, seed: number, n: number): FuzzCase {
  const rng = new Rng(seed, n)
  const kind = pickKind(rng)
  const pool = kind === 'base64' ? target.templates.filter(t => t.op === 'encrypt' || t.op === 'decrypt') : target.templates
  const template = rng.pick(pool)
  const body = JSON.parse(template.body.replace(ID_HOLE, uuidFrom(rng))) as Record<string, unknown>
  const base = { n, kind, mayClose: false, endAfterWrite: false, split: false }
  const now = target.now ?? Date.now
  const sign = (bytes: Buffer, path = template.path, dateMs = now()) => signedRequest(target.signer, target.hostHeader, path, bytes, dateMs)
  if (kind === 'json' || kind === 'base64') {
    const m = kind === 'json' ? mutateJson(rng, body) : mutateBase64(rng, body)
    return { ...base, what: `${template.op}: ${m.what}`, bytes: serialize(sign(m.body)) }
  }
  const text = Buffer.from(JSON.stringify(body))
  const request = sign(text)
  if (kind === 'headers') {
    const m = mutateHeaders(rng, request)
    return { ...base, ...m, mayClose: m.mayClose || badFieldBytes(request), what: `${template.op}: ${m.what}`, bytes: serialize(request) }
  }
  if (kind === 'sigv4') {
    const m = mutateSigv4(rng, request, (path, dateMs) => sign(text, path, dateMs))
    return { ...base, mayClose: m.mayClose || badFieldBytes(m.request), what: `${template.op}: ${m.what}`, bytes: serialize(m.request) }
  }
  const m = mutateFraming(rng, request)
  return { ...base, ...m, what: `${template.op}: ${m.what}` }
}
