/**
 * Optional plain-HTTP port for NLB target-group health checks (GET /ping, GET /readyz). A uWS App, not
 * node:http, because its listener sets SO_REUSEPORT like the TLS port: every serving process of a host, and the
 * old and new processes during a PM2 reload, can bind it at once.
 */
import type { us_listen_socket } from '@trufflesuite/uws-js-unofficial'
import { statusLine } from './http-status'
import type { Probe } from './uws-frontend'
import { loadNativeUws } from './uws-native'

export interface HealthPort {
  port: number
  close: () => void
}

export async function listenHealthPort (host: string, port: number, probes: Readonly<Record<string, Probe>>): Promise<HealthPort> {
  const uws = loadNativeUws()
  const app = uws.App()
  app.get('/*', (res, req) => {
    const probe = probes[req.getUrl()]
    const response = probe?.() ?? { status: 404, body: '{"status":"not found"}' }
    res.cork(() => {
      res.writeStatus(statusLine(response.status)).writeHeader('Content-Type', 'application/json').end(response.body)
    })
  })
  const socket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(host, port, s => { if (s === false) reject(new Error(`cannot listen on ${host}:${port}`)); else resolve(s) })
  })
  return {
    port: uws.us_socket_local_port(socket as never),
    close: () => uws.us_listen_socket_close(socket),
  }
}
