/**
 * Shared pieces of the conformance and behaviour integration tests: one dev server per test file, request bodies
 * shaped like KMS and the official test client send them, and strict response assertions (docs/xks-spec.md §5, §7, §14).
 */
import fs from 'node:fs'
import type { Test } from 'tap'
import { cdivOf, fromB64 } from '../../src/selftest/check'
import { type Connection, type DevServer, type DevServerOptions, startDevServer } from './dev-server'
import { type SendOptions, XksClient, type XksResponse, metadataFor } from './xks-client'

export type XksOp = 'metadata' | 'encrypt' | 'decrypt'

/** A running dev server and a client for it; the fields are set once t.before has run. */
export interface Harness {
  server: DevServer
  client: XksClient
  conn: Connection
  /** `${uriPrefix}/health` */
  healthPath: string
  keyPath: (keyId: string, op: XksOp) => string
  /** `path` with '/invalid' put before '/kms/xks/v1', as the test client's `URI_PREFIX=$URI_PREFIX/invalid` does. */
  invalidPrefix: (path: string) => string
  /** Sends with curl-style signing (content-type signed) unless the options say otherwise. */
  send: (options: SendOptions) => Promise<XksResponse>
}

/**
 * Starts one dev server for the whole test file (t.before) and stops it and deletes its directory in teardown.
 * `curlStyle` signs Content-Type too, as the official test client (curl --aws-sigv4) does.
 * XKSGATE_TEST_CONNECTION names the connection.json of a proxy already running elsewhere (a container, through
 * its published port: `npm run test:container`); the tests then send to it and start no server of their own.
 */
export function useDevServer (t: Test, options: { curlStyle?: boolean, maxSockets?: number, server?: DevServerOptions } = {}): Harness {
  const harness = {} as Harness
  const external = process.env.XKSGATE_TEST_CONNECTION
  t.before(async () => {
    const server = external === undefined ? await startDevServer(options.server) : undefined
    const conn: Connection = server?.connection ?? JSON.parse(fs.readFileSync(external ?? '', 'utf8'))
    const client = new XksClient(conn, options.maxSockets)
    const base = conn.uriPrefix.replace(/\/kms\/xks\/v1$/, '')
    Object.assign(harness, {
      ...(server === undefined ? {} : { server }),
      client,
      conn,
      healthPath: `${conn.uriPrefix}/health`,
      keyPath: (keyId: string, op: XksOp) => `${conn.uriPrefix}/keys/${keyId}/${op}`,
      invalidPrefix: (path: string) => base + '/invalid' + path.slice(base.length),
      send: async (o: SendOptions) => await client.send({ signContentType: options.curlStyle, ...o }),
    })
  })
  t.teardown(async () => {
    harness.client?.close()
    if (harness.server !== undefined) {
      await harness.server.stop()
      fs.rmSync(harness.server.dir, { recursive: true, force: true })
    }
  })
  return harness
}

/** The test client's body with an empty requestMetadata, as it sends it. */
export { EMPTY_METADATA } from '../../src/selftest/bodies'

/** A request that must fail with exactly this status and errorName. */
export interface FailureCase { name: string, request: () => SendOptions, status: number, errorName: string }

/**
 * The three failures the test client checks on every API (docs/xks-spec.md §14): an access key id and a secret it does not
 * know (each prefixed with 'Invalid') → 401, and '/invalid' inserted into the URI prefix → 404. `request` builds
 * a valid request for the API; `h` is read only when a case runs.
 */
export function credentialAndPrefixCases (h: Harness, api: string, request: () => SendOptions): FailureCase[] {
  return [
    {
      name: `${api} with an invalid SigV4 access key id`,
      request: () => ({ ...request(), accessKeyId: 'Invalid' + h.conn.accessKeyId }),
      status: 401,
      errorName: 'AuthenticationFailedException',
    },
    {
      name: `${api} with an invalid SigV4 secret access key`,
      request: () => ({ ...request(), secretAccessKey: 'Invalid' + h.conn.secretAccessKey }),
      status: 401,
      errorName: 'AuthenticationFailedException',
    },
    {
      name: `${api} with an invalid URI prefix`,
      request: () => { const r = request(); return { ...r, path: h.invalidPrefix(r.path) } },
      status: 404,
      errorName: 'InvalidUriPathException',
    },
  ]
}

/** One top-level test per case. */
export function testFailures (t: Test, h: Harness, cases: FailureCase[]): void {
  for (const c of cases) {
    t.test(c.name, async t => {
      assertXksError(t, await h.send(c.request()), c.status, c.errorName)
    })
  }
}

/** A GetHealthStatus body as KMS's periodic poll sends it, with `extra` top-level fields. */
export const healthBody = (extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: crypto.randomUUID() }, ...extra })

/** Pretty-printed with newlines and indentation, as the test client's heredocs reach curl --data-binary. */
export function pretty (body: unknown): string {
  return JSON.stringify(body, null, 4)
}

// The test client's inputs and base64 helpers are the selftest's (src/selftest/), which ships the same cases.
export { b64, randomB64, SAMPLE } from '../../src/selftest/bodies'
export { fromB64 } from '../../src/selftest/check'

export interface EncryptInput { plaintext?: string, aad?: string, cdiv?: boolean, kmsOperation?: string }

/** An Encrypt body; absent inputs are left out (never null), like the test client and KMS. */
export function encryptBody (input: EncryptInput): Record<string, unknown> {
  return {
    requestMetadata: metadataFor(input.kmsOperation ?? 'Encrypt', { kmsViaService: 'ebs' }),
    ...(input.aad !== undefined ? { additionalAuthenticatedData: input.aad } : {}),
    ...(input.plaintext !== undefined ? { plaintext: input.plaintext } : {}),
    ...(input.cdiv === true ? { ciphertextDataIntegrityValueAlgorithm: 'SHA_256' } : {}),
    encryptionAlgorithm: 'AES_GCM',
  }
}

/** A Decrypt body from an Encrypt response; ciphertextMetadata only when the response had one (docs/xks-spec.md §14). */
export function decryptBody (encrypted: Record<string, unknown>, aad?: string): Record<string, unknown> {
  return {
    requestMetadata: metadataFor('Decrypt', { kmsViaService: 'ebs' }),
    ...(aad !== undefined ? { additionalAuthenticatedData: aad } : {}),
    ciphertext: encrypted.ciphertext,
    initializationVector: encrypted.initializationVector,
    authenticationTag: encrypted.authenticationTag,
    ...(encrypted.ciphertextMetadata !== undefined ? { ciphertextMetadata: encrypted.ciphertextMetadata } : {}),
    encryptionAlgorithm: 'AES_GCM',
  }
}

/** CDIV = SHA-256(AAD || CM || IV || ciphertext || tag) over decoded bytes, absent fields empty (docs/xks-spec.md §6.5). */
export const expectedCdiv = cdivOf

/** Standard padded base64 (RFC 4648 §4), as the spec requires of every binary field (docs/xks-spec.md §6.6). */
const STANDARD_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Content-Type application/json and a compact single-line JSON object body (docs/xks-spec.md §2, §14). */
export function assertJsonResponse (t: Test, res: XksResponse): void {
  const mediaType = String(res.headers['content-type'] ?? '').split(';', 1)[0].trim()
  t.equal(mediaType, 'application/json', 'Content-Type is application/json')
  t.notMatch(res.body, /[\r\n]/, 'body is a single line')
  let parsed: unknown
  try { parsed = JSON.parse(res.body) } catch { /* asserted below */ }
  t.ok(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed), 'body is a JSON object')
  t.equal(JSON.stringify(parsed), res.body, 'body is compact JSON')
}

/** An XKS error: exact status and errorName; errorMessage, if any, < 512 printable ASCII characters (docs/xks-spec.md §7.1). */
export function assertXksError (t: Test, res: XksResponse, status: number, errorName: string): void {
  t.equal(res.status, status, `HTTP ${status}`)
  t.equal(res.json.errorName, errorName, errorName)
  assertJsonResponse(t, res)
  t.same(Object.keys(res.json).filter(k => k !== 'errorName' && k !== 'errorMessage'), [], 'only errorName and errorMessage')
  if (res.json.errorMessage !== undefined) {
    t.match(res.json.errorMessage, /^[\x20-\x7e]{0,511}$/, 'errorMessage is < 512 printable ASCII characters')
  }
}

/** 200 with exactly `fields` as top-level keys (in any order). */
export function assertSuccess (t: Test, res: XksResponse, fields: string[]): void {
  t.equal(res.status, 200, 'HTTP 200', { body: res.status === 200 ? undefined : res.body })
  assertJsonResponse(t, res)
  t.same(Object.keys(res.json).sort(), [...fields].sort(), `exactly ${fields.join(', ')}`)
}

function assertB64Bytes (t: Test, value: unknown, field: string, lengths: number[]): void {
  t.type(value, 'string', `${field} is a string`)
  t.match(value, STANDARD_B64, `${field} is standard padded base64`)
  t.ok(lengths.includes(fromB64(value).length), `${field} decodes to ${lengths.join(' or ')} bytes`, { actual: fromB64(value).length })
}

/**
 * A successful Encrypt: ciphertext as long as the plaintext, IV 12 or 16 bytes, tag 16, ciphertextMetadata ≤ 20
 * bytes if present, and the CDIV present exactly when asked for and equal to our own recomputation.
 */
export function assertEncrypted (t: Test, res: XksResponse, input: EncryptInput): void {
  const fields = ['ciphertext', 'initializationVector', 'authenticationTag']
  if (res.json.ciphertextMetadata !== undefined) fields.push('ciphertextMetadata')
  if (input.cdiv === true) fields.push('ciphertextDataIntegrityValue')
  assertSuccess(t, res, fields)
  assertB64Bytes(t, res.json.ciphertext, 'ciphertext', [fromB64(input.plaintext).length])
  assertB64Bytes(t, res.json.initializationVector, 'initializationVector', [12, 16])
  assertB64Bytes(t, res.json.authenticationTag, 'authenticationTag', [16])
  if (res.json.ciphertextMetadata !== undefined) {
    t.match(res.json.ciphertextMetadata, STANDARD_B64, 'ciphertextMetadata is standard padded base64')
    t.ok(fromB64(res.json.ciphertextMetadata).length <= 20, 'ciphertextMetadata is at most 20 bytes')
  }
  if (input.cdiv === true) {
    assertB64Bytes(t, res.json.ciphertextDataIntegrityValue, 'ciphertextDataIntegrityValue', [32])
    t.equal(res.json.ciphertextDataIntegrityValue, expectedCdiv(input.aad, res.json), 'CDIV matches SHA-256(AAD||CM||IV||CT||tag)')
  }
}

/** A successful Decrypt that gives back exactly `plaintext`. */
export function assertDecrypted (t: Test, res: XksResponse, plaintext: string): void {
  assertSuccess(t, res, ['plaintext'])
  t.equal(res.json.plaintext, plaintext, 'the original plaintext comes back')
}
