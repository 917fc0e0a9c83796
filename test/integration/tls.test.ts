import { spawnSync } from 'node:child_process'
import tls from 'node:tls'
import t from 'tap'
import { startDevServer, testFrontend, type DevServer } from '../helpers/dev-server'

let server: DevServer

t.before(async () => { server = await startDevServer() })
t.teardown(async () => { await server?.stop() })

interface Handshake { ok: boolean, protocol?: string | null, cipher?: string, error?: string }

function handshake (options: tls.ConnectionOptions): Promise<Handshake> {
  const url = new URL(server.connection.endpoint)
  return new Promise(resolve => {
    const socket = tls.connect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false, ...options }, () => {
      resolve({ ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher().name })
      socket.end()
    })
    socket.on('error', err => resolve({ ok: false, error: err.message }))
    socket.setTimeout(5000, () => { socket.destroy(); resolve({ ok: false, error: 'timeout' }) })
  })
}

t.test('TLS 1.2 negotiates only the spec suites', async t => {
  for (const cipher of ['ECDHE-ECDSA-AES256-GCM-SHA384']) {
    const result = await handshake({ maxVersion: 'TLSv1.2', ciphers: cipher })
    t.same({ ok: result.ok, protocol: result.protocol, cipher: result.cipher }, { ok: true, protocol: 'TLSv1.2', cipher }, cipher)
  }
  for (const cipher of ['AES128-SHA', 'AES256-SHA', 'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
    const result = await handshake({ maxVersion: 'TLSv1.2', ciphers: `${cipher}:@SECLEVEL=0` })
    t.equal(result.ok, false, `${cipher} refused`)
  }
})

t.test('TLS 1.0 and 1.1 are refused', async t => {
  for (const version of ['TLSv1', 'TLSv1.1'] as const) {
    const result = await handshake({ minVersion: version, maxVersion: version, ciphers: 'DEFAULT:@SECLEVEL=0' })
    t.equal(result.ok, false, `${version} refused`)
  }
})

t.test('TLS 1.3 with a spec suite is accepted', async t => {
  const result = await handshake({ minVersion: 'TLSv1.3' })
  t.equal(result.ok, true)
  t.equal(result.protocol, 'TLSv1.3')
  t.equal(result.cipher, 'TLS_AES_256_GCM_SHA384')
})

/** `openssl s_client` offering exactly one TLS 1.3 suite; its output says whether the handshake completed. */
function sClient13 (suite: string): { handshake: boolean, output: string } {
  const url = new URL(server.connection.endpoint)
  const run = spawnSync('openssl', ['s_client', '-connect', `${url.hostname}:${url.port}`, '-tls1_3', '-ciphersuites', suite], { input: '', encoding: 'utf8', timeout: 10_000 })
  const output = `${run.stdout}${run.stderr}`
  return { handshake: new RegExp(`Cipher is ${suite}`).test(output), output }
}

if (testFrontend() === 'node') {
  t.test('node: TLS 1.3 offers only the spec suites (openssl s_client)', async t => {
    const refused = sClient13('TLS_AES_128_GCM_SHA256')
    t.notOk(refused.handshake, 'a client offering only TLS_AES_128_GCM_SHA256 is refused')
    t.match(refused.output, /alert handshake failure|SSL alert number 40/, 'with a handshake_failure alert')
    for (const suite of ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']) {
      t.ok(sClient13(suite).handshake, `${suite} is accepted`)
    }
  })
} else {
  t.test('uWS: its BoringSSL still negotiates TLS_AES_128_GCM_SHA256 (the known limit, docs/behaviour.md "TLS")', async t => {
    t.ok(sClient13('TLS_AES_128_GCM_SHA256').handshake)
  })
}
