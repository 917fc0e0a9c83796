/**
 * HEAD answers as GET would, without a body (RFC 9110 §9.3.2): the same status and header fields, Content-Length
 * included, and not one body byte, so the next response on the keep-alive connection is read intact.
 */
import t, { type Test } from 'tap'
import { useDevServer } from '../helpers/conformance'
import { RawTlsConnection, type RawResponse } from '../helpers/raw-http'
import { XksClient } from '../helpers/xks-client'

const h = useDevServer(t)

const request = (method: string, path: string): string => `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`

/** HEAD then GET of one path on one connection; both responses, and the connection for more checks. */
async function headThenGet (t: Test, path: string): Promise<{ head: RawResponse, get: RawResponse }> {
  const connection = await RawTlsConnection.open(h.conn)
  t.teardown(() => connection.destroy())
  // Both requests in one write: a server that sends a body after the HEAD response breaks the second response.
  connection.write(request('HEAD', path) + request('GET', path))
  const head = await connection.response({ head: true })
  const get = await connection.response()
  t.equal(connection.unread, '', 'nothing after the GET response')
  t.notOk(connection.isClosed, 'the connection stays open')
  return { head, get }
}

function assertHeadLikeGet (t: Test, head: RawResponse, get: RawResponse): void {
  t.equal(head.status, get.status, `HEAD answers ${get.status} like GET`)
  t.equal(head.headers['content-type'], get.headers['content-type'], 'same Content-Type')
  t.equal(head.headers['content-length'], String(Buffer.byteLength(get.body)), 'Content-Length of the GET body')
  t.equal(head.headers.allow, get.headers.allow, 'same Allow')
}

for (const path of ['/ping', '/readyz']) {
  t.test(`HEAD ${path} answers like GET without a body`, async t => {
    const { head, get } = await headThenGet(t, path)
    t.equal(get.status, 200, `GET ${path} is 200`)
    t.ok(get.body.length > 0, 'GET has a body')
    assertHeadLikeGet(t, head, get)
  })
}

t.test('HEAD on every API path is 405 with Allow: POST and no body', async t => {
  const paths = [h.healthPath, ...(['metadata', 'encrypt', 'decrypt'] as const).map(op => h.keyPath(h.conn.keys.encryptDecrypt, op))]
  for (const path of paths) {
    await t.test(path, async t => {
      const { head, get } = await headThenGet(t, path)
      t.equal(head.status, 405, 'HTTP 405')
      t.equal(head.headers.allow, 'POST', 'Allow: POST (RFC 9110 §15.5.6)')
      assertHeadLikeGet(t, head, get)
      t.match(JSON.parse(get.body), { errorName: 'ValidationException' }, 'the GET still carries the JSON error body')
    })
  }
})

t.test('HEAD on an unknown path is 404 without a body', async t => {
  const { head, get } = await headThenGet(t, `${h.conn.uriPrefix}/nowhere`)
  t.equal(head.status, 404, 'HTTP 404')
  assertHeadLikeGet(t, head, get)
  t.match(JSON.parse(get.body), { errorName: 'InvalidUriPathException' })
})

t.test('after a HEAD, a signed POST on the same connection is served', async t => {
  // Node's own client, one keep-alive socket: a stray HEAD body would be parsed as the POST's response.
  const client = new XksClient(h.conn, 1)
  t.teardown(() => client.close())
  const head = await client.send({ method: 'HEAD', path: h.healthPath, unsigned: true })
  t.equal(head.status, 405)
  t.equal(head.body, '', 'no body')
  const health = await client.send({ path: h.healthPath, body: { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: crypto.randomUUID() } } })
  t.equal(health.status, 200, 'GetHealthStatus on the same socket', { body: health.body })
})
