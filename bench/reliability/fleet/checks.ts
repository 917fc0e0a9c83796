import crypto from 'node:crypto'
import { callOnce } from '../../lib/connection-info'
import { healthTemplate, ID_HOLE, type Template } from '../../loadgen/templates'
import { Signer, type Credentials } from '../../sign'
import { FuzzConnection } from '../fuzz/send'
import { serialize, signedRequest } from '../fuzz/request'

/** The fleet's two one-shot checks: what GetHealthStatus says through the balancer, and a replay across hosts. */

export async function fleetSizeVia (address: string, port: number, creds: Credentials, uriPrefix: string): Promise<number | undefined> {
  const res = await callOnce(port, creds, healthTemplate(uriPrefix), address).catch(() => undefined)
  return res?.status === 200 ? (JSON.parse(res.body) as { xksProxyFleetSize?: number }).xksProxyFleetSize : undefined
}

/**
 * Until the first attempt's request budget plus a 1 s margin has passed, another host cannot tell it served from
 * in flight and refuses a repeat with a retryable 503 (docs/operations.md "Replay: retries and repeats"); 240 ms is the
 * default budget.
 */
const IN_FLIGHT_WINDOW_MS = 240 + 1000

/**
 * The same signed bytes (an Encrypt, one fixed X-Amz-Date) sent to host A, then to host B directly once A's
 * attempt is past its in-flight window: B must refuse them as a replay (401), because the hosts share the replay
 * cache in Redis. Returns both statuses and B's answer.
 */
export async function replayAcrossHosts (a: string, b: string, port: number, creds: Credentials, templates: Template[]): Promise<{ first: number, second: number, body: string }> {
  const encrypt = templates.find(t => t.op === 'encrypt')!
  const body = Buffer.from(encrypt.body.replace(ID_HOLE, crypto.randomUUID()))
  // Signed for the balancer's name, as KMS signs for the endpoint it was given; both hosts see that Host header.
  const bytes = serialize(signedRequest(new Signer(creds), 'xks.fleet.test', encrypt.path, body))
  const send = async (address: string): Promise<{ status: number, body: string }> => {
    const conn = new FuzzConnection({ host: address, port })
    await conn.open()
    const outcome = await conn.send(bytes, { split: false, end: false, timeoutMs: 3000 })
    conn.close()
    return outcome.kind === 'answer' ? { status: outcome.response.status, body: outcome.response.body } : { status: 0, body: outcome.kind }
  }
  const sentAt = Date.now()
  const first = await send(a)
  await new Promise(resolve => setTimeout(resolve, Math.max(0, sentAt + IN_FLIGHT_WINDOW_MS + 200 - Date.now())))
  const second = await send(b)
  return { first: first.status, second: second.status, body: second.body }
}
