/**
 * Strict mTLS on the node frontend (`npm run dev -- --mtls`), with a private client CA made at test time: one good
 * client certificate, and five bad ones (expired, self-signed, from another CA, another CN, an extra DNS
 * subjectAltName), plus a client with none. Every bad client is refused before any HTTP byte is read or answered:
 * the unsigned request it sends would otherwise be answered 401 and logged. What the client sees (docs/behaviour.md "mTLS for KMS"):
 * without a certificate, an alert in the handshake (TLS 1.3: certificate_required; TLS 1.2: handshake_failure);
 * with a bad one, the connection closed right after the handshake, without an alert (node:tls cannot send one).
 * Two serving processes share the port through the cluster primary's handle, and both serve.
 */
import fs from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import t from 'tap'
import { createCa, issueClientCert, type CertFiles } from '../../src/dev/tls-cert'
import { healthBody, useDevServer } from '../helpers/conformance'
import { until } from '../helpers/until'

// Two serving processes: Node 20's net has no SO_REUSEPORT, so they share the cluster primary's listening socket.
const h = useDevServer(t, { server: { args: ['--mtls', '--processes', '2'], env: { XKSGATE__replay__allowProcessLocal: 'true' } } })
const SUBJECT = 'cks.kms.us-east-1.amazonaws.com'
const DAY = 86_400_000

interface Attempt { handshake: boolean, error?: string, received: string }

/** Connects with `cert` (or none), sends an unsigned Health POST, and reports what came back until the close. */
async function attempt (cert: CertFiles | undefined, maxVersion: tls.SecureVersion = 'TLSv1.3'): Promise<Attempt> {
  const url = new URL(h.conn.endpoint)
  const request = `POST ${h.healthPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`
  return await new Promise(resolve => {
    let received = ''
    let handshake = false
    let error: string | undefined
    const socket = tls.connect({
      host: url.hostname,
      port: Number(url.port),
      ca: fs.readFileSync(h.conn.caFile),
      maxVersion,
      ...(cert !== undefined && { cert: fs.readFileSync(cert.certFile), key: fs.readFileSync(cert.keyFile) }),
    }, () => { handshake = true; socket.write(request) })
    socket.on('data', (d: Buffer) => { received += d.toString() })
    socket.on('error', err => { error = (err as NodeJS.ErrnoException).code ?? err.message })
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout')))
    socket.on('close', () => resolve({ handshake, error, received }))
  })
}

const answered = (): number => h.server.output().split('\n').filter(line => line.includes('"status":401')).length

t.test('the good client certificate is served; the five bad ones and none are refused before HTTP', async t => {
  const dir = path.join(h.server.dir, 'test-certs')
  const ca = { certFile: String(h.conn.clientCaFile), keyFile: String(h.conn.clientCaKeyFile) }
  const other = createCa(path.join(dir, 'other'), 'another CA')
  const now = Date.now()
  const bad: Record<string, CertFiles> = {
    expired: issueClientCert(ca, { dir, name: 'expired', commonName: SUBJECT, notBefore: new Date(now - 60 * DAY), notAfter: new Date(now - DAY) }),
    'self-signed': createCa(path.join(dir, 'self'), SUBJECT),
    'from another CA': issueClientCert(other, { dir, name: 'other-ca', commonName: SUBJECT }),
    'another CN': issueClientCert(ca, { dir, name: 'other-cn', commonName: 'cks.kms.eu-west-1.amazonaws.com', dnsNames: [SUBJECT] }),
    'an extra DNS subjectAltName': issueClientCert(ca, { dir, name: 'extra-san', commonName: SUBJECT, dnsNames: [SUBJECT, 'attacker.example.com'] }),
  }
  const good = issueClientCert(ca, { dir, name: 'good', commonName: SUBJECT })

  const served = await attempt(good)
  t.match(served.received, /^HTTP\/1\.1 401 /, 'a good certificate reaches the XKS pipeline (401 for the unsigned request)')
  // Log lines reach stdout in chunks at least every 250 ms.
  await until('the 401 logged', () => answered() > 0)
  const before = answered()

  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    const none = await attempt(undefined, version)
    // In TLS 1.3 the client's side of the handshake is complete before the server reads its (empty) Certificate.
    if (version === 'TLSv1.2') t.notOk(none.handshake, `${version}, no certificate: the handshake fails`)
    // The same handshake_failure alert: OpenSSL 3.0 (Node 20) names it SSLV3_ALERT_…, 3.2 and later (Node 22, 24) SSL/TLS_ALERT_….
    t.match(none.error, version === 'TLSv1.3' ? /^ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED$/ : /^ERR_SSL_(SSLV3|SSL\/TLS)_ALERT_HANDSHAKE_FAILURE$/, `${version}, no certificate: the alert`)
    t.equal(none.received, '', `${version}, no certificate: nothing answered`)
  }
  for (const [name, cert] of Object.entries(bad)) {
    const refused = await attempt(cert)
    t.equal(refused.received, '', `${name}: nothing answered`)
  }
  await until('the refusals logged', () => /attacker\.example\.com/.test(h.server.output()))
  await new Promise(resolve => setTimeout(resolve, 500))
  t.equal(answered(), before, 'none of the refused requests was read: no answer was logged')
  const log = h.server.output()
  t.match(log, /"reason":"subject CN \\"cks\.kms\.eu-west-1\.amazonaws\.com\\" is not an allowed client".*mTLS: client certificate refused/, 'another CN is logged with the reason')
  t.match(log, /"reason":"subjectAltName DNS:\\"attacker\.example\.com\\" is not an allowed client"/, 'an extra DNS name is logged with the reason')
})

t.test('a signed request with the good certificate is served', async t => {
  const res = await h.send({ path: h.healthPath, body: healthBody() })
  t.equal(res.status, 200)
})

t.test('both serving processes take connections on the one shared listening socket', async t => {
  const dir = path.join(h.server.dir, 'test-certs')
  const good = { certFile: path.join(dir, 'good_cert.pem'), keyFile: path.join(dir, 'good_key.pem') }
  for (let i = 0; i < 6; i++) t.match((await attempt(good)).received, /^HTTP\/1\.1 401 /)
  const workers = (): Set<number> => new Set(h.server.output().split('\n').filter(l => l.includes('"status":401')).map(l => (JSON.parse(l) as { worker: number }).worker))
  await until('answers from both processes logged', () => workers().size === 2)
  t.same([...workers()].sort(), [1, 2])
})
