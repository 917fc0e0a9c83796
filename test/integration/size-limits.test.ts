/**
 * Sizes: the spec's minima round-trip (4300-byte plaintext, 8192-byte AAD, docs/xks-spec.md §12), anything above
 * the configured maxima is 501 UnsupportedOperationException (§7.2), and a body above server.maxBodyBytes is
 * refused from its head, with the connection closed.
 */
import fs from 'node:fs'
import tls from 'node:tls'
import t from 'tap'
import { assertDecrypted, assertEncrypted, assertXksError, decryptBody, encryptBody, randomB64, useDevServer } from '../helpers/conformance'
import { recordSecrets, testLogAfterStop } from '../helpers/log-secrets'

const h = useDevServer(t)
const sent = recordSecrets(h)
const encryptPath = (): string => h.keyPath(h.conn.keys.encryptDecrypt, 'encrypt')
const decryptPath = (): string => h.keyPath(h.conn.keys.encryptDecrypt, 'decrypt')

t.test('4300-byte plaintext with 8192-byte AAD round-trips (the spec minima)', async t => {
  const plaintext = sent.plaintextOf(4300)
  const aad = randomB64(8192)
  const enc = await sent.send({ path: encryptPath(), body: encryptBody({ plaintext, aad, cdiv: true }) })
  assertEncrypted(t, enc, { plaintext, aad, cdiv: true })
  assertDecrypted(t, await sent.send({ path: decryptPath(), body: decryptBody(enc.json, aad) }), plaintext)
})

t.test('sizes above the configured maxima are 501 UnsupportedOperationException', async t => {
  // Dev defaults: maxPlaintextBytes 8192 (also bounds the Decrypt ciphertext), maxAadBytes 16384.
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['Encrypt plaintext of 8193 bytes', encryptPath(), encryptBody({ plaintext: sent.plaintextOf(8193) })],
    ['Encrypt AAD of 16385 bytes', encryptPath(), encryptBody({ plaintext: sent.plaintextOf(16), aad: randomB64(16385) })],
    ['Decrypt ciphertext of 8193 bytes', decryptPath(), decryptBody({ ciphertext: randomB64(8193), initializationVector: randomB64(12), authenticationTag: randomB64(16) })],
    ['Decrypt AAD of 16385 bytes', decryptPath(), decryptBody({ ciphertext: randomB64(16), initializationVector: randomB64(12), authenticationTag: randomB64(16) }, randomB64(16385))],
  ]
  for (const [name, path, body] of cases) {
    await t.test(name, async t => {
      assertXksError(t, await sent.send({ path, body }), 501, 'UnsupportedOperationException')
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

testLogAfterStop(t, h, sent, { plaintexts: 3 })
