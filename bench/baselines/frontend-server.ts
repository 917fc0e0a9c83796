import crypto from 'node:crypto'
import fs from 'node:fs'
import { createLogger } from '../../src/log'
import type { FrontendOptions } from '../../src/server/frontend'
import { NodeFrontend } from '../../src/server/node-frontend'
import { UwsFrontend } from '../../src/server/uws-frontend'
import { pemCertificates } from '../../src/tls/client-auth'

/**
 * The stage table's frontend server: one of xksgate's real frontends (head copy, bounded body read, response write)
 * with a handler that answers a fixed Encrypt-shaped body at once. Against the bare transport server it shows
 * what the frontend's own code costs per request.
 * Usage: node frontend-server.js PORT CERT KEY [uws|node] [CLIENT_CA SUBJECT] — prints "ready" once listening;
 * with CLIENT_CA the node frontend requires a client certificate from it for SUBJECT (strict mTLS).
 */

const [port, certFile, keyFile, kind = 'uws', clientCa, subject] = process.argv.slice(2)
const body = JSON.stringify({
  authenticationTag: crypto.randomBytes(16).toString('base64'),
  ciphertext: crypto.randomBytes(4096).toString('base64'),
  initializationVector: crypto.randomBytes(12).toString('base64'),
})
const response = { status: 200, body }

const options: FrontendOptions = {
  host: '127.0.0.1',
  port: Number(port),
  certFile,
  keyFile,
  maxBodyBytes: 65536,
  bodyTimeoutMs: 5000,
  handler: async () => response,
  probes: {},
  log: createLogger({ level: 'warn' }),
  ...(clientCa !== undefined && {
    clientAuth: { caPems: pemCertificates(fs.readFileSync(clientCa, 'utf8')), allows: (name: string) => name === subject, description: subject },
  }),
}
const listening = kind === 'node' ? NodeFrontend.listen(options) : UwsFrontend.listen(options)
listening.then(() => console.log('ready'), (err: unknown) => {
  console.error('frontend-server:', err)
  process.exit(1)
})
