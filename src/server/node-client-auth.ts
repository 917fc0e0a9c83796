/**
 * The subject check of strict mTLS on the node frontend, between the TLS handshake and the HTTP parser. Node itself
 * has already refused a client without a certificate (in the handshake) and one whose chain does not verify against
 * the configured CAs (expired, self-signed, another CA: closed right after the handshake). Here a verified
 * certificate with a subject that is not allowed is closed too, before the HTTP parser is attached to the
 * connection: no HTTP byte of it is read or answered.
 */
import type https from 'node:https'
import type { TLSSocket } from 'node:tls'
import type { Logger } from '../log'
import { type ClientAuthPolicy, subjectRefusal } from '../tls/client-auth'

type ConnectionListener = (socket: TLSSocket) => void

export function refuseUnlistedClient (server: https.Server, policy: ClientAuthPolicy, log: Logger): void {
  // https.Server hands each secure connection to the HTTP parser through this one listener.
  const [http] = server.listeners('secureConnection') as ConnectionListener[]
  server.removeAllListeners('secureConnection')
  server.on('secureConnection', (socket: TLSSocket) => {
    const raw = socket.getPeerCertificate().raw
    const refusal = raw === undefined ? 'no client certificate' : subjectRefusal(raw, policy.allows)
    if (refusal === undefined) {
      http.call(server, socket)
      return
    }
    log.warn({ remote: socket.remoteAddress, reason: refusal, allowed: policy.description }, 'mTLS: client certificate refused')
    socket.destroy()
  })
}
