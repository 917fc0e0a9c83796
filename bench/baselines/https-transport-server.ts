import crypto from 'node:crypto'
import fs from 'node:fs'
import https from 'node:https'

/**
 * The stage table's node:https transport: the naive baseline's server (bench/baselines/naive-server.ts) with
 * nothing behind it, reading each body in full and answering the same fixed Encrypt-shaped body as the uWS
 * transport server. Against that one it shows what the conventional design's transport costs per request.
 * Usage: node https-transport-server.js PORT CERT KEY — prints "ready" once listening.
 */

const [port, cert, key] = process.argv.slice(2)
const body = JSON.stringify({
  authenticationTag: crypto.randomBytes(16).toString('base64'),
  ciphertext: crypto.randomBytes(4096).toString('base64'),
  initializationVector: crypto.randomBytes(12).toString('base64'),
})
const length = String(Buffer.byteLength(body))

https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), keepAlive: true, keepAliveTimeout: 60_000, noDelay: true }, (req, res) => {
  req.on('data', () => {})
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': length })
    res.end(body)
  })
}).listen(Number(port), '127.0.0.1', () => console.log('ready'))
