import crypto from 'node:crypto'
import { createLogger } from '../../src/log'
import { UwsFrontend } from '../../src/server/uws-frontend'

/**
 * The stage table's frontend server: xksgate's real uWS frontend (head copy, bounded body read, response write)
 * with a handler that answers a fixed Encrypt-shaped body at once. Against the bare transport server it shows
 * what the frontend's own code costs per request.
 * Usage: node frontend-server.js PORT CERT KEY — prints "ready" once listening.
 */

const [port, certFile, keyFile] = process.argv.slice(2)
const body = JSON.stringify({
  authenticationTag: crypto.randomBytes(16).toString('base64'),
  ciphertext: crypto.randomBytes(4096).toString('base64'),
  initializationVector: crypto.randomBytes(12).toString('base64'),
})
const response = { status: 200, body }

UwsFrontend.listen({
  host: '127.0.0.1',
  port: Number(port),
  certFile,
  keyFile,
  maxBodyBytes: 65536,
  bodyTimeoutMs: 5000,
  handler: async () => response,
  probes: {},
  log: createLogger({ level: 'warn' }),
}).then(() => console.log('ready'), (err: unknown) => {
  console.error('frontend-server:', err)
  process.exit(1)
})
