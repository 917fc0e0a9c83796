import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { Credentials } from '../sign'
import { amzDate, Signer } from '../sign'
import { ID_HOLE, Template } from '../loadgen/templates'

/** DIR/connection.json as written by the dev CLI once it serves (the scripted contract). */
export interface ConnectionInfo {
  endpoint: string
  uriPrefix: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  keys: { encryptDecrypt: string }
  /** The proxy's Prometheus endpoint (plain HTTP on 127.0.0.1), when it serves one. */
  metricsUrl?: string
}

/** Sums of the named counters on a Prometheus text page: a bare name adds up every label set, `name{...}` is that series. */
export async function readCounters (url: string, names: readonly string[]): Promise<Record<string, number>> {
  const text = await new Promise<string>((resolve, reject) => {
    http.get(url, res => {
      let body = ''
      res.setEncoding('utf8').on('data', chunk => { body += chunk }).on('end', () => resolve(body))
    }).on('error', reject)
  })
  const sums: Record<string, number> = Object.fromEntries(names.map(n => [n, 0]))
  for (const line of text.split('\n')) {
    const name = /^([a-z_]+)/.exec(line)?.[1]
    const series = line.slice(0, line.lastIndexOf(' '))
    const value = Number(line.slice(line.lastIndexOf(' ') + 1))
    if (name !== undefined && name in sums) sums[name] += value
    if (series !== name && series in sums) sums[series] += value
  }
  return sums
}

export function readConnection (file: string): ConnectionInfo & { port: number, creds: Credentials } {
  const info = JSON.parse(fs.readFileSync(file, 'utf8')) as ConnectionInfo
  const url = new URL(info.endpoint)
  if (url.hostname !== '127.0.0.1') throw new Error(`refusing to load ${info.endpoint}: traffic stays on 127.0.0.1`)
  if (info.metricsUrl !== undefined && new URL(info.metricsUrl).hostname !== '127.0.0.1') throw new Error(`refusing ${info.metricsUrl}: traffic stays on 127.0.0.1`)
  return {
    ...info,
    port: Number(url.port),
    creds: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey, region: info.region },
  }
}

/**
 * One signed request outside the load loop (pre-encrypting ciphertexts, checking every template once before a
 * run), to 127.0.0.1 unless `address` names another (the reliability fleet's namespaces). Plain https: its cost
 * does not matter here.
 */
export function callOnce (port: number, creds: Credentials, t: Template, address = '127.0.0.1'): Promise<{ status: number, body: string }> {
  const body = t.body.replace(ID_HOLE, crypto.randomUUID())
  const host = `${address}:${port}`
  const date = amzDate(Date.now())
  const signer = new Signer(creds)
  const sig = signer.sign(t.path, host, date, crypto.hash('sha256', body, 'hex'))
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: address,
      port,
      method: 'POST',
      path: t.path,
      rejectUnauthorized: false,
      timeout: 10_000,
      headers: {
        Host: host,
        'X-Amz-Date': date,
        Authorization: signer.authorizationPrefix(date) + sig,
        'Content-Type': 'application/json',
      },
    }, res => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', d => { text += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('timeout', () => req.destroy(new Error(`${t.path}: no answer within 10 s`)))
    req.on('error', reject)
    req.end(body)
  })
}
