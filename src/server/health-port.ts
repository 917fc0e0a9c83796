/**
 * Optional plain-HTTP port for NLB target-group health checks and operators (GET or HEAD /ping, /readyz). A uWS
 * App, not node:http, because its listener sets SO_REUSEPORT like the TLS port: every serving process of a host,
 * and the old and new processes during a PM2 reload, can bind it at once.
 *
 * It listens on every interface by default, because an NLB checks the target's own address. So a peer from
 * another address gets what the TLS port gives anyone: the status, nothing more. Why a process is not ready, its
 * pid and its HSM backends' states go only to a peer on this host's loopback (the operator's curl, `xksgate ready`),
 * because the reason can name a Redis address and a socket error, and the pid and backend names map the host.
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

/** What each path answers: `public` to any peer, `loopback` (the same paths) to a peer on this host. */
export interface HealthProbes {
  public: Readonly<Record<string, Probe>>
  loopback: Readonly<Record<string, Probe>>
}

const NOT_FOUND: XksHttpResponse = { status: 404, body: '{"status":"not found"}' }
const METHOD_NOT_ALLOWED: XksHttpResponse = { status: 405, body: '{"status":"method not allowed"}', headers: { Allow: 'GET, HEAD' } }

export async function listenHealthPort (host: string, port: number, probes: HealthProbes): Promise<HealthPort> {
  const uws = loadNativeUws()
  const app = uws.App()
  app.any('/*', (res, req) => {
    const method = req.getCaseSensitiveMethod()
    const head = method === 'HEAD'
    const probe = (isLoopback(res.getRemoteAddress()) ? probes.loopback : probes.public)[req.getUrl()]
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

/**
 * The peer's address as uWS gives it (4 bytes, or 16 on an IPv6 listener) is in 127.0.0.0/8, is ::1, or is an
 * IPv4-mapped 127.x (::ffff:127.x.y.z, an IPv4 loopback peer of a "::" listener). Such a TCP peer is a process
 * on this host: Linux drops a packet from the network claiming a loopback source, and where it does not
 * (route_localnet) the handshake's reply goes to this host's own loopback, so no connection completes.
 */
export function isLoopback (address: ArrayBuffer): boolean {
  const bytes = new Uint8Array(address)
  if (bytes.length === 4) return bytes[0] === 127
  if (bytes.length !== 16 || bytes.subarray(0, 10).some(b => b !== 0)) return false
  const [b10, b11, b12, b13, b14, b15] = bytes.subarray(10)
  if (b10 === 0xff && b11 === 0xff) return b12 === 127
  return b10 === 0 && b11 === 0 && b12 === 0 && b13 === 0 && b14 === 0 && b15 === 1
}
