/**
 * Optional plain-HTTP port for NLB target-group health checks and operators (GET or HEAD /ping, /readyz). A uWS
 * App, not node:http, because its listener sets SO_REUSEPORT like the TLS port: every serving process of a host,
 * and the old and new processes during a PM2 reload, can bind it at once.
 */
import type { us_listen_socket } from '@trufflesuite/uws-js-unofficial'
import type { XksHttpResponse } from '../xks/http-types'
import { writeResponse } from './respond'
import type { Probe } from './frontend'
import { loadNativeUws } from './uws-native'

export interface HealthPort {
  port: number
  close: () => void
}

const NOT_FOUND: XksHttpResponse = { status: 404, body: '{"status":"not found"}' }
const METHOD_NOT_ALLOWED: XksHttpResponse = { status: 405, body: '{"status":"method not allowed"}', headers: { Allow: 'GET, HEAD' } }

export async function listenHealthPort (host: string, port: number, probes: Readonly<Record<string, Probe>>): Promise<HealthPort> {
  const uws = loadNativeUws()
  const app = uws.App()
  app.any('/*', (res, req) => {
    const method = req.getCaseSensitiveMethod()
    const head = method === 'HEAD'
    const probe = probes[req.getUrl()]
    const response = probe === undefined ? NOT_FOUND : head || method === 'GET' ? probe() : METHOD_NOT_ALLOWED
    writeResponse(res, response, head, false)
  })
  const socket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(host, port, s => { if (s === false) reject(new Error(`cannot listen on ${host}:${port}`)); else resolve(s) })
  })
  return {
    port: uws.us_socket_local_port(socket as never),
    close: () => uws.us_listen_socket_close(socket),
  }
}
