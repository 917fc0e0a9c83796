/**
 * HTTP routing edges (docs/xks-spec.md §2, §3.2): GET on an API path is 405 with a JSON body and `Allow: POST`,
 * unknown paths and prefixes are 404 InvalidUriPathException, and GET /ping answers load balancers without
 * authentication.
 */
import t from 'tap'
import { assertJsonResponse, assertXksError, healthBody, useDevServer } from '../helpers/conformance'
import { recordSecrets, testLogAfterStop } from '../helpers/log-secrets'

const h = useDevServer(t)
const sent = recordSecrets(h)

t.test('GET on each API path is 405 with a JSON body', async t => {
  const paths = [h.healthPath, ...(['metadata', 'encrypt', 'decrypt'] as const).map(op => h.keyPath(h.conn.keys.encryptDecrypt, op))]
  for (const p of paths) {
    await t.test(p, async t => {
      const res = await sent.send({ method: 'GET', path: p })
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
      assertXksError(t, await sent.send({ path: p, body: healthBody() }), 404, 'InvalidUriPathException')
    })
  }
})

t.test('GET /ping is 200 without authentication', async t => {
  const res = await h.client.send({ method: 'GET', path: '/ping', unsigned: true })
  t.equal(res.status, 200)
})

testLogAfterStop(t, h, sent, { plaintexts: 0 })
