/**
 * Proxy behaviour beyond the official test client: tamper detection, size limits, HTTP edges, SigV4 freshness and
 * replay, tolerance of unknown fields, 200 concurrent requests, SIGTERM, and what never reaches the log.
 * Requests are signed the way KMS signs them (SignedHeaders host;x-amz-date).
 */
import fs from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import t from 'tap'
import {
  assertDecrypted, assertEncrypted, assertJsonResponse, assertSuccess, assertXksError, b64, decryptBody,
  encryptBody, fromB64, randomB64, useDevServer,
} from '../helpers/conformance'
import { XksClient, type XksResponse, metadataFor } from '../helpers/xks-client'

const h = useDevServer(t)

/** Everything secret we sent, to check the server log for it at the end. */
const sentPlaintexts: string[] = []
const sentAuthorizations: string[] = []

/** A random plaintext of `n` bytes, recorded for the log check. */
const plaintextOf = (n: number): string => {
  const plaintext = randomB64(n)
  sentPlaintexts.push(plaintext)
  return plaintext
}

const encryptPath = (): string => h.keyPath(h.conn.keys.encryptDecrypt, 'encrypt')
const decryptPath = (): string => h.keyPath(h.conn.keys.encryptDecrypt, 'decrypt')

async function send (options: Parameters<typeof h.send>[0]): Promise<XksResponse> {
  const res = await h.send(options)
  if (res.sentHeaders.Authorization !== undefined) sentAuthorizations.push(res.sentHeaders.Authorization)
  return res
}

const healthBody = (extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: crypto.randomUUID() }, ...extra })

/** Flips the lowest bit of byte `index` (negative: from the end) of a base64 field. */
function flipByte (field: unknown, index: number): string {
  const bytes = fromB64(field)
  bytes[(index + bytes.length) % bytes.length] ^= 0x01
  return b64(bytes)
}

t.test('Decrypt detects tampering with any field', async t => {
  const aad = randomB64(64)
  const plaintext = plaintextOf(100)
  const enc = await send({ path: encryptPath(), body: encryptBody({ plaintext, aad }) })
  t.match(enc.sentHeaders.Authorization, /SignedHeaders=host;x-amz-date,/, 'signed like KMS')
  assertEncrypted(t, enc, { plaintext, aad })
  t.ok(enc.json.ciphertextMetadata !== undefined, 'Encrypt returned ciphertextMetadata (needed for two cases below)')
  const original = decryptBody(enc.json, aad)
  assertDecrypted(t, await send({ path: decryptPath(), body: { ...original, requestMetadata: metadataFor('Decrypt') } }), plaintext)

  const tampered: Array<[string, (body: Record<string, unknown>) => void]> = [
    ['a ciphertext byte', b => { b.ciphertext = flipByte(b.ciphertext, 50) }],
    ['a tag byte', b => { b.authenticationTag = flipByte(b.authenticationTag, -1) }],
    ['an IV byte', b => { b.initializationVector = flipByte(b.initializationVector, 0) }],
    ['an AAD byte', b => { b.additionalAuthenticatedData = flipByte(b.additionalAuthenticatedData, 10) }],
    ['a ciphertextMetadata byte', b => { b.ciphertextMetadata = flipByte(b.ciphertextMetadata, 0) }],
    ['ciphertextMetadata removed', b => { delete b.ciphertextMetadata }],
  ]
  for (const [name, tamper] of tampered) {
    await t.test(name, async t => {
      const body = { ...original, requestMetadata: metadataFor('Decrypt') }
      tamper(body)
      assertXksError(t, await send({ path: decryptPath(), body }), 400, 'InvalidCiphertextException')
    })
  }
  await t.test('a 16-byte IV is accepted structurally (fails authentication, not validation)', async t => {
    const body = { ...original, requestMetadata: metadataFor('Decrypt'), initializationVector: randomB64(16) }
    assertXksError(t, await send({ path: decryptPath(), body }), 400, 'InvalidCiphertextException')
  })
})

t.test('4300-byte plaintext with 8192-byte AAD round-trips (the spec minima)', async t => {
  const plaintext = plaintextOf(4300)
  const aad = randomB64(8192)
  const enc = await send({ path: encryptPath(), body: encryptBody({ plaintext, aad, cdiv: true }) })
  assertEncrypted(t, enc, { plaintext, aad, cdiv: true })
  assertDecrypted(t, await send({ path: decryptPath(), body: decryptBody(enc.json, aad) }), plaintext)
})

t.test('sizes above the configured maxima are 501 UnsupportedOperationException', async t => {
  // Dev defaults: maxPlaintextBytes 8192 (also bounds the Decrypt ciphertext), maxAadBytes 16384.
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['Encrypt plaintext of 8193 bytes', encryptPath(), encryptBody({ plaintext: plaintextOf(8193) })],
    ['Encrypt AAD of 16385 bytes', encryptPath(), encryptBody({ plaintext: plaintextOf(16), aad: randomB64(16385) })],
    ['Decrypt ciphertext of 8193 bytes', decryptPath(), decryptBody({ ciphertext: randomB64(8193), initializationVector: randomB64(12), authenticationTag: randomB64(16) })],
    ['Decrypt AAD of 16385 bytes', decryptPath(), decryptBody({ ciphertext: randomB64(16), initializationVector: randomB64(12), authenticationTag: randomB64(16) }, randomB64(16385))],
  ]
  for (const [name, path, body] of cases) {
    await t.test(name, async t => {
      assertXksError(t, await send({ path, body }), 501, 'UnsupportedOperationException')
    })
  }
})

t.test('a body larger than 64 KiB gets 501 and the connection is closed', async t => {
  const url = new URL(h.conn.endpoint)
  const body = Buffer.alloc(70_000, 'a')
  const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca: fs.readFileSync(h.conn.caFile) })
  const result = await new Promise<{ response: string, closed: boolean }>(resolve => {
    let response = ''
    // The server answers after the head and closes; writing the rest of the body may then fail (EPIPE/ECONNRESET),
    // which is expected and not what is being tested.
    socket.on('error', () => {})
    socket.on('data', (d: Buffer) => { response += d.toString() })
    const timer = setTimeout(() => { socket.destroy(); resolve({ response, closed: false }) }, 5000)
    socket.on('close', () => { clearTimeout(timer); resolve({ response, closed: true }) })
    socket.once('secureConnect', () => {
      socket.write(`POST ${encryptPath()} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`)
      socket.write(body)
    })
  })
  t.match(result.response, /^HTTP\/1\.1 501 /, '501 status line')
  const payload = result.response.slice(result.response.indexOf('\r\n\r\n') + 4)
  t.match(payload, /"errorName":"UnsupportedOperationException"/, 'UnsupportedOperationException body')
  t.ok(result.closed, 'the server closed the connection (not left hanging)')
})

t.test('GET on each API path is 405 with a JSON body', async t => {
  const paths = [h.healthPath, ...(['metadata', 'encrypt', 'decrypt'] as const).map(op => h.keyPath(h.conn.keys.encryptDecrypt, op))]
  for (const p of paths) {
    await t.test(p, async t => {
      const res = await send({ method: 'GET', path: p })
      t.equal(res.status, 405, 'HTTP 405')
      assertJsonResponse(t, res)
      t.type(res.json.errorName, 'string', 'errorName present')
      // RFC 9110 §15.5.6: a 405 response MUST carry an Allow header.
      t.equal(res.headers.allow, 'POST', 'Allow: POST')
    })
  }
})

t.test('unknown paths are 404 InvalidUriPathException', async t => {
  const paths = [
    `${h.conn.uriPrefix}/keys/${h.conn.keys.encryptDecrypt}/sign`,
    `${h.conn.uriPrefix}/healthz`,
    `${h.conn.uriPrefix}/health/`,
    '/kms/xks/v1/health',
    '/',
  ]
  for (const p of paths) {
    await t.test(p, async t => {
      assertXksError(t, await send({ path: p, body: healthBody() }), 404, 'InvalidUriPathException')
    })
  }
})

t.test('GET /ping is 200 without authentication', async t => {
  const res = await h.client.send({ method: 'GET', path: '/ping', unsigned: true })
  t.equal(res.status, 200)
})

t.test('GetKeyMetadata reports each key\'s own usage', async t => {
  const { keys } = h.conn
  const cases: Array<[string, string[]]> = [
    [keys.encryptDecrypt, ['ENCRYPT', 'DECRYPT']],
    [keys.encryptOnly, ['ENCRYPT']],
    [keys.decryptOnly, ['DECRYPT']],
    [keys.impotent, []],
  ]
  for (const [keyId, usage] of cases) {
    const res = await send({ path: h.keyPath(keyId, 'metadata'), body: { requestMetadata: metadataFor('CreateKey') } })
    assertSuccess(t, res, ['keySpec', 'keyUsage', 'keyStatus'])
    const reported = res.json.keyUsage as string[]
    t.same(reported.filter(u => u === 'ENCRYPT' || u === 'DECRYPT'), usage, `${keyId}: ${usage.join('+') || 'neither ENCRYPT nor DECRYPT'}`)
    t.ok(reported.length <= 10, 'at most 10 usages')
  }
})

/**
 * X-Amz-Date has one-second resolution while the proxy compares it with its millisecond clock. Dates are therefore
 * offsets from the start of the current second S: the proxy sees skew = |now - (S + offset)| with now = S + e,
 * e = time since S until the proxy checks. Then +300 s is accepted and -301 s rejected whatever e is, while +301 s
 * is rejected and -299 s accepted only when e < 1 s. Starting each request early in a second (at most 500 ms in)
 * leaves the request half a second to arrive, so the outcome does not depend on the scheduling of two processes.
 */
async function startOfYoungSecond (): Promise<number> {
  const intoSecond = Date.now() % 1000
  if (intoSecond > 500) await new Promise(resolve => setTimeout(resolve, 1000 - intoSecond))
  return Math.floor(Date.now() / 1000) * 1000
}

t.test('clock skew: at most 300 s either way', async t => {
  const cases: Array<[number, boolean]> = [[300, true], [301, false], [-299, true], [-301, false]]
  for (const [offsetSeconds, accepted] of cases) {
    await t.test(`${offsetSeconds > 0 ? '+' : ''}${offsetSeconds} s: ${accepted ? 'accepted' : '401'}`, async t => {
      const signedAt = new Date(await startOfYoungSecond() + offsetSeconds * 1000)
      const res = await send({ path: h.healthPath, body: healthBody(), signedAt })
      if (accepted) t.equal(res.status, 200, 'HTTP 200', { body: res.body })
      else assertXksError(t, res, 401, 'AuthenticationFailedException')
    })
  }
})

t.test('a replayed signed request is refused', async t => {
  const body = JSON.stringify(encryptBody({ plaintext: plaintextOf(32) }))
  const signedAt = new Date()
  const first = await send({ path: encryptPath(), body, signedAt })
  const second = await send({ path: encryptPath(), body, signedAt })
  t.equal(first.sentHeaders.Authorization, second.sentHeaders.Authorization, 'identical Authorization header')
  t.equal(first.status, 200, 'first use accepted')
  assertXksError(t, second, 401, 'AuthenticationFailedException')
})

t.test('unknown fields and unknown kmsOperation values are tolerated', async t => {
  const unknown = { SourceIdentity: 'someone', kmsRecipientAttestationImageSha384: 'abc', 'aws:PrincipalTag/team': 'x' }
  const plaintext = plaintextOf(48)
  const enc = await send({
    path: encryptPath(),
    body: { ...encryptBody({ plaintext, kmsOperation: 'BulkEncrypt' }), futureField: { nested: [1, 2] }, requestMetadata: metadataFor('BulkEncrypt', unknown) },
  })
  assertEncrypted(t, enc, { plaintext })
  const dec = await send({
    path: decryptPath(),
    body: { ...decryptBody(enc.json), futureField: true, requestMetadata: metadataFor('BulkDecrypt', unknown) },
  })
  assertDecrypted(t, dec, plaintext)
  const meta = await send({ path: h.keyPath(h.conn.keys.encryptDecrypt, 'metadata'), body: { requestMetadata: metadataFor('DescribeKeyV2', unknown), extra: 1 } })
  assertSuccess(t, meta, ['keySpec', 'keyUsage', 'keyStatus'])
  const health = await send({ path: h.healthPath, body: { requestMetadata: { kmsOperation: 'FutureHealthPoll', kmsRequestId: crypto.randomUUID(), ...unknown }, extra: 'x' } })
  t.equal(health.status, 200, 'health with unknown fields', { body: health.body })
})

t.test('a non-JSON Content-Type is 400 ValidationException', async t => {
  const res = await send({ path: h.healthPath, body: healthBody(), headers: { 'Content-Type': 'text/plain' } })
  assertXksError(t, res, 400, 'ValidationException')
})

t.test('invalid JSON is 400 ValidationException', async t => {
  const res = await send({ path: h.healthPath, body: `{"requestMetadata": {"kmsRequestId": "${crypto.randomUUID()}",` })
  assertXksError(t, res, 400, 'ValidationException')
})

t.test('200 concurrent requests over keep-alive connections are all answered correctly', async t => {
  const client = new XksClient(h.conn, 100)
  t.teardown(() => client.close())
  const kinds = { encrypt: 0, decrypt: 0, metadata: 0, health: 0 }
  const count = (kind: keyof typeof kinds, ok: boolean): void => { if (ok) kinds[kind]++ }
  // 50 ciphertexts made beforehand, to be decrypted while everything else is in flight.
  const prepared = await Promise.all(Array.from({ length: 50 }, async () => {
    const plaintext = plaintextOf(64)
    const res = await client.send({ path: encryptPath(), body: encryptBody({ plaintext }) })
    return { plaintext, encrypted: res.json }
  }))
  const failures: string[] = []
  const check = (what: string, res: XksResponse, ok: boolean): boolean => {
    if (!ok) failures.push(`${what}: ${res.status} ${res.body}`)
    return ok
  }
  await Promise.all([
    // 50 Encrypt → Decrypt chains (100 requests).
    ...Array.from({ length: 50 }, async (_, i) => {
      const plaintext = plaintextOf(32 + i)
      const enc = await client.send({ path: encryptPath(), body: encryptBody({ plaintext }) })
      if (!check('encrypt', enc, enc.status === 200)) return
      count('encrypt', true)
      const dec = await client.send({ path: decryptPath(), body: decryptBody(enc.json) })
      count('decrypt', check('decrypt of a fresh ciphertext', dec, dec.status === 200 && dec.json.plaintext === plaintext))
    }),
    // 50 Decrypts of the prepared ciphertexts.
    ...prepared.map(async ({ plaintext, encrypted }) => {
      const dec = await client.send({ path: decryptPath(), body: decryptBody(encrypted) })
      count('decrypt', check('decrypt of a prepared ciphertext', dec, dec.status === 200 && dec.json.plaintext === plaintext))
    }),
    // 25 GetKeyMetadata and 25 GetHealthStatus.
    ...Array.from({ length: 25 }, async () => {
      const res = await client.send({ path: h.keyPath(h.conn.keys.encryptDecrypt, 'metadata'), body: { requestMetadata: metadataFor('CreateKey') } })
      count('metadata', check('metadata', res, res.status === 200 && res.json.keySpec === 'AES_256'))
    }),
    ...Array.from({ length: 25 }, async () => {
      const res = await client.send({ path: h.healthPath, body: healthBody() })
      count('health', check('health', res, res.status === 200 && Array.isArray(res.json.ekmFleetDetails)))
    }),
  ])
  t.same(failures, [], 'no request failed')
  t.same(kinds, { encrypt: 50, decrypt: 100, metadata: 25, health: 25 }, 'every request answered correctly')
})

// Logged requests, checked after the server has exited (its asynchronous log is complete by then).
const loggedRequestIds = { ok: crypto.randomUUID(), failed: crypto.randomUUID() }

t.test('requests to check in the log', async t => {
  const ok = await h.send({ path: encryptPath(), body: { requestMetadata: metadataFor('Encrypt', { kmsRequestId: loggedRequestIds.ok }), plaintext: plaintextOf(32), encryptionAlgorithm: 'AES_GCM' } })
  t.equal(ok.status, 200)
  const failed = await h.send({ path: h.keyPath('no_such_key', 'encrypt'), body: { requestMetadata: metadataFor('Encrypt', { kmsRequestId: loggedRequestIds.failed }), plaintext: plaintextOf(32), encryptionAlgorithm: 'AES_GCM' } })
  t.equal(failed.status, 404)
})

t.test('SIGTERM: exit code 0 and connection.json removed', async t => {
  const code = await h.server.stop()
  t.equal(code, 0, 'exit code 0')
  t.notOk(fs.existsSync(path.join(h.server.dir, 'connection.json')), 'connection.json removed')
})

t.test('the log never contains plaintext, the secret access key or an Authorization header', async t => {
  // Runs after the server has exited, so its whole log has been written.
  const log = h.server.output()
  t.ok(log.length > 0, 'the server logged something')
  t.ok(sentPlaintexts.length > 100, 'plaintexts to look for')
  const leaked = sentPlaintexts.filter(p => log.includes(p))
  t.same(leaked, [], 'no plaintext in the log')
  t.notOk(log.includes(h.conn.secretAccessKey), 'no secret access key in the log')
  t.ok(sentAuthorizations.length > 0, 'Authorization headers to look for')
  t.same(sentAuthorizations.filter(a => log.includes(a)), [], 'no full Authorization header in the log')
})

t.test('each request is logged once, with its metadata, outcome and latency', async t => {
  const lines = h.server.output().split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>)
  const requestLines = (id: string): Array<Record<string, unknown>> => lines.filter(l => l.msg === 'xks request' && l.kmsRequestId === id)
  const [ok, ...moreOk] = requestLines(loggedRequestIds.ok)
  t.equal(moreOk.length, 0, 'one line for the request')
  t.match(ok, {
    operation: 'encrypt', keyStore: String, uriPrefix: h.conn.uriPrefix, keyId: h.conn.keys.encryptDecrypt,
    accessKeyId: h.conn.accessKeyId, region: h.conn.region, status: 200, kmsOperation: 'Encrypt',
    principal: 'arn:aws:iam::123456789012:user/Alice', latencyMs: Number, pid: Number,
  })
  t.equal(ok.errorName, undefined)
  const [failed, ...moreFailed] = requestLines(loggedRequestIds.failed)
  t.equal(moreFailed.length, 0)
  t.match(failed, { operation: 'encrypt', keyId: 'no_such_key', status: 404, errorName: 'KeyNotFoundException' })
})
