/**
 * What both frontends share (src/server/frontend-core.ts): header joining as SigV4 canonicalises it, the framing
 * refusals, probes, the too-large 501, the 500 fallback, and the in-flight count a graceful stop drains.
 */
import t from 'tap'
import { createLogger } from '../../src/log'
import { type BodyResult, FrontendCore, MISSING_HOST, REPEATED_CONTENT_LENGTH, REPEATED_HOST, addHeader } from '../../src/server/frontend-core'
import type { XksHttpRequest, XksHttpResponse } from '../../src/xks/http-types'

const PING: XksHttpResponse = { status: 200, body: '{"status":"ok"}' }
const log = createLogger({ level: 'silent' })

function request (method: string, path: string, headers: Record<string, string> = { host: 'h' }): XksHttpRequest {
  return { method, path, query: '', headers, body: Buffer.alloc(0), receivedAt: Date.now(), remoteAddress: '127.0.0.1' }
}

function core (handler: (req: XksHttpRequest) => Promise<XksHttpResponse> = async () => PING): FrontendCore {
  return new FrontendCore({ handler, probes: { '/ping': () => PING }, maxBodyBytes: 100, log })
}

/** Serves one request with `body` and resolves with what was written. */
async function serveOnce (c: FrontendCore, body: BodyResult, aborted = false): Promise<Array<[XksHttpResponse, boolean]>> {
  const written: Array<[XksHttpResponse, boolean]> = []
  c.serve(request('POST', '/x'), Promise.resolve(body), () => aborted, (response, close) => written.push([response, close]))
  await new Promise(resolve => setTimeout(resolve, 5))
  return written
}

t.test('headers: lower-cased names kept, repeats joined with "," as SigV4 canonicalises them', async t => {
  const headers: Record<string, string> = {}
  t.equal(addHeader(headers, 'x-amz-date', '20261201T000000Z'), undefined)
  t.equal(addHeader(headers, 'x-a', 'one'), undefined)
  t.equal(addHeader(headers, 'x-a', ' two'), undefined)
  t.same(headers, { 'x-amz-date': '20261201T000000Z', 'x-a': 'one, two' })
  t.equal(addHeader(headers, 'host', 'a'), undefined)
  t.equal(addHeader(headers, 'host', 'a'), REPEATED_HOST, 'a second Host, even the same, is refused')
  t.equal(addHeader(headers, 'content-length', '2'), undefined)
  t.equal(addHeader(headers, 'content-length', '2'), REPEATED_CONTENT_LENGTH, 'a second Content-Length, even the same, is refused')
})

t.test('admit: framing first, then probes, then the size bound', async t => {
  const c = core()
  t.equal(c.admit(request('GET', '/ping', {}), undefined), MISSING_HOST, 'no Host: refused, probes included')
  t.equal(c.admit(request('GET', '/ping'), REPEATED_HOST), REPEATED_HOST, 'a repeated header outranks the probe')
  t.same(c.admit(request('GET', '/ping'), undefined), { kind: 'probe', response: PING })
  t.same(c.admit(request('HEAD', '/ping'), undefined), { kind: 'probe', response: PING })
  t.same(c.admit(request('POST', '/ping'), undefined), { kind: 'xks' }, 'POST to a probe path goes to the XKS core (its 404/405)')
  t.same(c.admit(request('POST', '/x', { host: 'h', 'content-length': '100' }), undefined), { kind: 'xks' }, 'at the bound')
  const tooLarge = c.admit(request('POST', '/x', { host: 'h', 'content-length': '101' }), undefined)
  t.equal(tooLarge.kind, 'too-large')
  t.match(tooLarge, { response: { status: 501, body: /UnsupportedOperationException.*larger than 100 bytes/ } })
})

t.test('serve: the response learns whether it was written or dropped (the replay rules need it)', async t => {
  for (const aborted of [false, true]) {
    const told: boolean[] = []
    const c = core(async () => ({ ...PING, afterWrite: written => told.push(written) }))
    const written = await serveOnce(c, { kind: 'body', body: Buffer.from('{}') }, aborted)
    t.equal(written.length, aborted ? 0 : 1)
    t.same(told, [!aborted], aborted ? 'dropped: false' : 'written: true')
  }
})

t.test('serve: the handler answers, keep-alive unless draining', async t => {
  t.same(await serveOnce(core(), { kind: 'body', body: Buffer.from('{}') }), [[PING, false]])
  const draining = core()
  await draining.drain(0)
  t.same(await serveOnce(draining, { kind: 'body', body: Buffer.from('{}') }), [[PING, true]], 'Connection: close while draining')
})

t.test('serve: a body past the bound is 501 and close; an aborted one gets nothing', async t => {
  const [[response, close]] = await serveOnce(core(), { kind: 'too-large' })
  t.equal(response.status, 501)
  t.equal(close, true)
  t.same(await serveOnce(core(), { kind: 'aborted' }), [])
  t.same(await serveOnce(core(), { kind: 'body', body: Buffer.alloc(0) }, true), [], 'nothing written to a client that went away')
})

t.test('serve: a handler that throws is answered 500 InternalException', async t => {
  const [[response, close]] = await serveOnce(core(async () => { throw new Error('bug') }), { kind: 'body', body: Buffer.alloc(0) })
  t.equal(response.status, 500)
  t.match(response.body, /"errorName":"InternalException"/)
  t.equal(close, false)
})

t.test('drain: waits for requests in progress, and no longer than drainMs', async t => {
  let finish: (r: XksHttpResponse) => void = () => {}
  const c = core(async () => await new Promise<XksHttpResponse>(resolve => { finish = resolve }))
  const written: boolean[] = []
  c.serve(request('POST', '/x'), Promise.resolve({ kind: 'body', body: Buffer.alloc(0) }), () => false, (_r, close) => written.push(close))
  await new Promise(resolve => setTimeout(resolve, 5))
  t.equal(c.inFlight, 1)
  let drained = false
  const draining = c.drain(10_000).then(() => { drained = true })
  await new Promise(resolve => setTimeout(resolve, 20))
  t.notOk(drained, 'still waiting for the request in progress')
  finish(PING)
  await draining
  t.same(written, [true], 'answered with Connection: close')
  t.equal(c.inFlight, 0)

  const stuck = core(async () => await new Promise<XksHttpResponse>(() => {}))
  stuck.serve(request('POST', '/x'), Promise.resolve({ kind: 'body', body: Buffer.alloc(0) }), () => false, () => {})
  await new Promise(resolve => setTimeout(resolve, 5))
  const started = Date.now()
  await stuck.drain(50)
  t.ok(Date.now() - started >= 45, 'gave up after drainMs')
})
