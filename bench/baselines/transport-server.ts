import crypto from 'node:crypto'
import { uws } from './uws'

/**
 * Scenario a's server: the same uWS TLS frontend as the proxy, with nothing behind it. It reads each request body
 * in full (as the proxy must, to hash it) and answers a fixed body shaped like an Encrypt response of 4 KiB.
 * Usage: node transport-server.js PORT CERT KEY — prints "ready" once listening.
 */

const [port, cert, key] = process.argv.slice(2)
const body = JSON.stringify({
  authenticationTag: crypto.randomBytes(16).toString('base64'),
  ciphertext: crypto.randomBytes(4096).toString('base64'),
  initializationVector: crypto.randomBytes(12).toString('base64'),
})

uws.SSLApp({ key_file_name: key, cert_file_name: cert })
  .any('/*', res => {
    let aborted = false
    res.onAborted(() => { aborted = true })
    res.onData((_chunk, isLast) => {
      if (isLast && !aborted) res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(body)
    })
  })
  .listen('127.0.0.1', Number(port), token => {
    if (!token) { console.error(`transport-server: cannot listen on ${port}`); process.exit(1) }
    console.log('ready')
  })
