/**
 * Request routing (docs/xks-spec.md §3, §7.4 step 1). Paths are matched exactly as received: SigV4 signs the path
 * verbatim (docs/xks-spec.md §8.3), so there is no dot-segment normalisation, trailing-slash or case folding, and no
 * percent-decoding (valid XKS paths never need it, docs/xks-spec.md §3.1).
 */
import { XksError } from './errors'

export type XksOperation = 'health' | 'metadata' | 'encrypt' | 'decrypt'

export interface RouteMatch<S> { store: S; operation: XksOperation; keyId?: string }

/**
 * 405 for a non-POST method on an API path (docs/xks-spec.md §2). The error table has no 405 entry and the spec names no
 * errorName for it, so the body keeps errorName ValidationException (a valid XKS name) with status 405. `allow`
 * is the value for the Allow header that RFC 9110 §15.5.6 requires on a 405.
 */
export class MethodNotAllowedError extends XksError {
  override readonly status = 405
  readonly allow = 'POST'

  constructor () {
    super('ValidationException', 'XKS API paths accept only the POST method.')
  }
}

const MAX_URI_CHARS = 256 // docs/xks-spec.md §3.1
const MIN_PREFIX_CHARS = 10
const MAX_PREFIX_CHARS = 128
/** KMS's own pattern for XksProxyUriPath (docs/xks-spec.md §3.1). Used at config time only. */
const URI_PREFIX_PATTERN = /^(\/[a-zA-Z0-9/_-]+\/kms\/xks\/v\d{1,2})$|^(\/kms\/xks\/v\d{1,2})$/
const MAX_KEY_ID_CHARS = 128
const HEALTH = 'health'
const KEYS_SEGMENT = '/keys'
const KEY_OPERATIONS: ReadonlyMap<string, XksOperation> = new Map([
  ['metadata', 'metadata'], ['encrypt', 'encrypt'], ['decrypt', 'decrypt'],
])

/** 1 for each character allowed in an externalKeyId, [A-Za-z0-9._-] (docs/xks-spec.md §3.1). */
const KEY_ID_CHARS = new Uint8Array(128)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-') KEY_ID_CHARS[c.charCodeAt(0)] = 1

/** The reason `prefix` is not a valid XksProxyUriPath, or undefined when it is. */
export function validateUriPrefix (prefix: string): string | undefined {
  if (prefix.length < MIN_PREFIX_CHARS || prefix.length > MAX_PREFIX_CHARS) {
    return `the URI path must be ${MIN_PREFIX_CHARS} to ${MAX_PREFIX_CHARS} characters long`
  }
  if (!URI_PREFIX_PATTERN.test(prefix)) {
    return 'the URI path must be [/<prefix>]/kms/xks/v<1-2 digits>, the prefix made of a-z A-Z 0-9 / _ -'
  }
  return undefined
}

function isValidKeyId (keyId: string): boolean {
  if (keyId.length === 0 || keyId.length > MAX_KEY_ID_CHARS) return false
  for (let i = 0; i < keyId.length; i++) {
    const c = keyId.charCodeAt(i)
    if (c >= 128 || KEY_ID_CHARS[c] === 0) return false
  }
  return true
}

function invalidPath (): XksError {
  return new XksError('InvalidUriPathException')
}

export class RouteTable<S extends { uriPrefix: string }> {
  private readonly byPrefix = new Map<string, S>()

  /** Throws on an invalid or duplicate prefix: both are configuration errors. */
  constructor (stores: readonly S[]) {
    for (const store of stores) {
      const problem = validateUriPrefix(store.uriPrefix)
      if (problem !== undefined) throw new Error(`Invalid key store URI path ${JSON.stringify(store.uriPrefix)}: ${problem}`)
      if (this.byPrefix.has(store.uriPrefix)) throw new Error(`Duplicate key store URI path ${JSON.stringify(store.uriPrefix)}`)
      this.byPrefix.set(store.uriPrefix, store)
    }
  }

  /**
   * Order (docs/xks-spec.md §7.4 step 1, §3.2): unknown path or prefix → 404 InvalidUriPathException; method other than
   * POST → 405; syntactically invalid key id → 404 KeyNotFoundException (no key can have that id).
   */
  match (method: string, path: string): RouteMatch<S> {
    if (path.length > MAX_URI_CHARS) throw invalidPath()
    const route = this.resolve(path)
    if (method !== 'POST') throw new MethodNotAllowedError()
    if (route.keyId !== undefined && !isValidKeyId(route.keyId)) throw new XksError('KeyNotFoundException')
    return route
  }

  /** Splits `<prefix>/health` or `<prefix>/keys/<id>/<op>` from the right: key ids contain no '/'. */
  private resolve (path: string): RouteMatch<S> {
    const last = path.lastIndexOf('/')
    if (last < 0) throw invalidPath()
    const tail = path.slice(last + 1)
    if (tail === HEALTH) return { store: this.storeFor(path.slice(0, last)), operation: 'health', keyId: undefined }
    const operation = KEY_OPERATIONS.get(tail)
    if (operation === undefined) throw invalidPath()
    const idStart = path.lastIndexOf('/', last - 1)
    const keysStart = idStart - KEYS_SEGMENT.length
    if (keysStart < 0 || !path.startsWith(KEYS_SEGMENT, keysStart)) throw invalidPath()
    const store = this.storeFor(path.slice(0, keysStart))
    return { store, operation, keyId: path.slice(idStart + 1, last) }
  }

  private storeFor (prefix: string): S {
    const store = this.byPrefix.get(prefix)
    if (store === undefined) throw invalidPath()
    return store
  }
}
