/**
 * A TLS server in front of a real proxy that forwards every request verbatim (Host included, so SigV4 still
 * verifies) and hands each answer to `mutate` before passing it back: a deliberately non-conformant proxy, for
 * proving the selftest notices. With `mtls` it also demands a client certificate from that CA and refuses a
 * subject other than `subject`, as a proxy doing mTLS must (docs/xks-spec.md §9).
 */
import fs from 'node:fs'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'

export interface Answer { status: number, headers: Record<string, string>, body: string }

export interface ForwarderOptions {
  upstream: string
  caFile: string
  certFile: string
  keyFile: string
  /** `inFlight`: requests the forwarder has received and not yet answered, this one included. */
  mutate?: (path: string, answer: Answer, inFlight: number) => Answer
  mtls?: { caFile: string, subject: string }
}

export interface Forwarder { endpoint: string, close: () => Promise<void> }

export async function startForwarder (options: ForwarderOptions): Promise<Forwarder> {
  const upstream = new URL(options.upstream)
  let inFlight = 0
  const agent = new https.Agent({ keepAlive: true, ca: fs.readFileSync(options.caFile) })
  const server = https.createServer({
    cert: fs.readFileSync(options.certFile),
    key: fs.readFileSync(options.keyFile),
    ...(options.mtls !== undefined && { requestCert: true, rejectUnauthorized: true, ca: fs.readFileSync(options.mtls.caFile) }),
  }, (req, res) => {
    inFlight++
    res.on('close', () => { inFlight-- })
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const forward = (retry: boolean): void => {
        const out = https.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers, agent }, up => {
          const parts: Buffer[] = []
          up.on('data', (c: Buffer) => parts.push(c))
          up.on('end', () => {
            const answer = { status: up.statusCode ?? 0, headers: { 'content-type': String(up.headers['content-type'] ?? '') }, body: Buffer.concat(parts).toString() }
            const sent = options.mutate?.(req.url ?? '', answer, inFlight) ?? answer
            res.writeHead(sent.status, sent.headers).end(sent.body)
          })
        })
        out.on('error', (err: NodeJS.ErrnoException) => {
          // A kept-alive upstream connection the proxy closed as it was reused: send the request again, once.
          if (retry && out.reusedSocket && err.code === 'ECONNRESET') forward(false)
          // Anything else is this forwarder's failure, answered as one: a reset here would look like the proxy
          // refusing the client's handshake, which is what the mTLS cases test for.
          else res.writeHead(502, { 'content-type': 'text/plain' }).end(`forwarder: upstream ${err.code ?? err.message}`)
        })
        out.end(body)
      }
      forward(true)
    })
  })
  if (options.mtls !== undefined) {
    const subject = options.mtls.subject
    server.on('secureConnection', (socket: TLSSocket) => {
      if (socket.getPeerCertificate().subject?.CN !== subject) socket.destroy()
    })
  }
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    endpoint: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      agent.destroy()
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    },
  }
}
