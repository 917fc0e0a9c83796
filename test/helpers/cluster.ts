/**
 * Helpers for tests against several serving processes: learn which process a keep-alive connection reached
 * (from the request log, which names the pid of every request), and send the byte-identical signed request again
 * (SigV4 is deterministic for a fixed X-Amz-Date), which is exactly what a replay is.
 */
import http from 'node:http'
import { LOADED_HOST_BUDGET, type Connection, type DevServer } from './dev-server'
import { until } from './until'
import { metadataFor, XksClient } from './xks-client'

export interface RuntimeConnection extends Connection {
  readyUrl: string
  metricsUrl?: string
}

/**
 * A client with one keep-alive connection, and the pid of the process at its other end: the one whose log line
 * carries the kmsRequestId of a GetHealthStatus sent on that connection. (The TLS port's /readyz names no process.)
 */
export async function pinnedClient (server: DevServer): Promise<{ client: XksClient, pid: number }> {
  const client = new XksClient(server.connection, 1)
  const kmsRequestId = crypto.randomUUID()
  const health = await client.send({ path: `${server.connection.uriPrefix}/health`, body: { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId } } })
  if (health.status !== 200) throw new Error(`GetHealthStatus failed: ${health.status} ${health.body}`)
  await until('the request in the log', () => loggedPid(server.output(), kmsRequestId) !== undefined)
  return { client, pid: loggedPid(server.output(), kmsRequestId) ?? 0 }
}

function loggedPid (output: string, kmsRequestId: string): number | undefined {
  const at = output.indexOf(`"kmsRequestId":"${kmsRequestId}"`)
  if (at < 0) return undefined
  const line = output.slice(output.lastIndexOf('\n', at) + 1, output.indexOf('\n', at))
  return (JSON.parse(line) as { pid: number }).pid
}

/** One Encrypt request, fixed so that sending it twice sends the same signature. */
export function fixedEncrypt (connection: Connection, signedAt = new Date()): Parameters<XksClient['send']>[0] {
  return {
    path: `${connection.uriPrefix}/keys/${connection.keys.encryptDecrypt}/encrypt`,
    body: { requestMetadata: metadataFor('Encrypt'), plaintext: Buffer.from('replay me').toString('base64'), encryptionAlgorithm: 'AES_GCM' },
    signedAt,
  }
}

export async function fetchText (url: string): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    http.get(url, res => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', reject)
  })
}

/** The value of one sample line, e.g. sample(text, 'xksgate_hsm_sessions_open'). */
export function sample (metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find(l => l.startsWith(series + ' '))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

/**
 * The sizing for a 2-core host (docs/operations.md), for tests that run several serving processes: one HSM thread per
 * process. The default of two oversubscribes the 2 cores the suite runs on, and a starved SoftHSM call past
 * hsm.opTimeoutMs answers 503 (seen once in CI during a PM2 reload).
 */
export const TWO_CORE_SIZING = { XKSGATE__hsm__threads: '1' } as const

/**
 * For tests that count lost requests across a reload, also where no dev server starts (PM2): the widened budget of
 * every test server, so that a SoftHSM call starved of CPU answers late instead of 503 or 429. What such a test
 * counts — refused connections, resets, any error status — does not depend on latency.
 */
export const RELOAD_TEST_BUDGET = LOADED_HOST_BUDGET
