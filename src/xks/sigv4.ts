/**
 * The SigV4 verification stage (spec docs/xks-spec.md §8): proves a request was signed by KMS with a credential of the key
 * store it addresses, recently. Every failure throws a 401 AuthenticationFailedException whose message says why
 * without echoing secrets or the Authorization header.
 *
 * Parsing lives in sigv4-parse.ts, the signature itself in sigv4-signer.ts.
 */
import { timingSafeEqual } from 'node:crypto'
import type { XksHttpRequest } from './http-types'
import { authFailure, parseAmzDate, parseAuthorization, type ParsedAuthorization } from './sigv4-parse'
import { expectedSignature, sha256Hex, SigningKeyCache } from './sigv4-signer'

export interface SigV4Credential { accessKeyId: string, secretAccessKey: string }

export interface SigV4Policy {
  /** All credentials of ONE key store (>= 1; rotation means 2+, §8.1). */
  credentials: readonly SigV4Credential[]
  /** Optional allow-list of scope regions; absent = any region (§8.2). */
  allowedRegions?: readonly string[]
  /** 300 per spec; a skew of exactly maxSkewSeconds is accepted. */
  maxSkewSeconds: number
}

export interface SigV4Principal { accessKeyId: string, region: string, signature: string, amzDateMs: number }

// The canonical URI is the path verbatim (§8.3), so it must not be able to break the canonical request's lines.
const CANONICAL_PATH = /^\/[\x21-\x7e]*$/

/** A policy turned into lookup tables once, so each verification does map lookups only. */
export class CompiledSigV4Policy {
  private readonly signingKeys = new Map<string, SigningKeyCache>()
  private readonly regions: ReadonlySet<string> | undefined
  private readonly maxSkewMs: number

  constructor (policy: SigV4Policy) {
    if (policy.credentials.length === 0) throw new Error('SigV4 policy needs at least one credential')
    for (const { accessKeyId, secretAccessKey } of policy.credentials) {
      // §8.1: the access key id must identify one secret; two secrets for one id would make the lookup ambiguous.
      if (this.signingKeys.has(accessKeyId)) throw new Error('SigV4 policy lists access key id ' + accessKeyId + ' twice')
      this.signingKeys.set(accessKeyId, new SigningKeyCache(secretAccessKey))
    }
    if (!Number.isFinite(policy.maxSkewSeconds) || policy.maxSkewSeconds < 0) {
      throw new Error('SigV4 maxSkewSeconds must be a non-negative number')
    }
    this.regions = policy.allowedRegions === undefined ? undefined : new Set(policy.allowedRegions)
    this.maxSkewMs = policy.maxSkewSeconds * 1000
  }

  /** Throws XksError('AuthenticationFailedException') unless `req` carries a valid, fresh signature. */
  verify (req: XksHttpRequest, nowMs: number): SigV4Principal {
    const auth = parseAuthorization(requireHeader(req, 'authorization', 'Missing Authorization header'))
    const amzDate = requireHeader(req, 'x-amz-date', 'Missing X-Amz-Date header')
    // The presented id, bounded: it is the client's text and goes into the log line of a failure.
    const presented = auth.accessKeyId.slice(0, 64)
    const amzDateMs = this.checkTime(auth, amzDate, nowMs, presented)
    if (this.regions !== undefined && !this.regions.has(auth.region)) {
      throw authFailure('Credential scope region is not allowed for this key store', presented)
    }
    const keys = this.signingKeys.get(auth.accessKeyId)
    if (keys === undefined) throw authFailure('Unknown access key id', presented)
    // Valid XKS requests carry no query (§8.3 signs an empty one); refusing any keeps the canonical query trivial.
    if (req.query !== '') throw authFailure('XKS requests must not carry a query string', presented)
    if (!CANONICAL_PATH.test(req.path)) throw authFailure('Request path cannot be signed', presented)
    const expected = expectedSignature({
      method: req.method,
      path: req.path,
      signedHeaderValues: signedHeaderValues(req, auth.signedHeaders, presented),
      signedHeaders: auth.signedHeaders,
      signedHeadersList: auth.signedHeadersList,
      bodyHash: bodyHash(req, presented),
      amzDate,
      scopeDate: auth.scopeDate,
      region: auth.region,
    }, keys.keyFor(auth.scopeDate, auth.region))
    // §8.3 Task 4: constant time, so the response time leaks nothing about how much of a guess was right.
    const given = Buffer.from(auth.signature, 'latin1')
    const wanted = Buffer.from(expected, 'latin1')
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      throw authFailure('Signature does not match', presented)
    }
    return { accessKeyId: auth.accessKeyId, region: auth.region, signature: auth.signature, amzDateMs }
  }

  /** §8.3: the scope date must be the request's date, and the request at most maxSkewSeconds old or early. */
  private checkTime (auth: ParsedAuthorization, amzDate: string, nowMs: number, presented: string): number {
    const amzDateMs = parseAmzDate(amzDate)
    if (auth.scopeDate !== amzDate.slice(0, 8)) throw authFailure('Credential scope date does not match X-Amz-Date', presented)
    const skewMs = Math.abs(nowMs - amzDateMs)
    if (skewMs > this.maxSkewMs) {
      throw authFailure('X-Amz-Date is ' + Math.round(skewMs / 1000) + ' s away from proxy time (max ' + this.maxSkewMs / 1000 + ' s)', presented)
    }
    return amzDateMs
  }
}

/** Reads a header as an own property: `headers` is a plain object, so 'constructor' must not find Object's. */
function header (req: XksHttpRequest, name: string): string | undefined {
  return Object.hasOwn(req.headers, name) ? req.headers[name] : undefined
}

function requireHeader (req: XksHttpRequest, name: string, missing: string, presented?: string): string {
  const value = header(req, name)
  if (value === undefined) throw authFailure(missing, presented)
  return value
}

/** §8.3: a header the client says it signed but did not send cannot be verified. */
function signedHeaderValues (req: XksHttpRequest, names: readonly string[], presented: string): string[] {
  return names.map(name => requireHeader(req, name, 'Signed header ' + name + ' is missing', presented))
}

/** §8.3: the hash covers the raw body bytes; a client-supplied x-amz-content-sha256 must agree with them. */
function bodyHash (req: XksHttpRequest, presented: string): string {
  const hash = sha256Hex(req.body)
  const claimed = header(req, 'x-amz-content-sha256')
  if (claimed !== undefined && claimed !== hash) throw authFailure('x-amz-content-sha256 does not match the body', presented)
  return hash
}
