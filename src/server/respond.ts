/**
 * Writes one response with uWS, for the TLS frontend and the health port alike. A HEAD request gets what GET
 * would get, header fields and Content-Length included, and no body (RFC 9110 §9.3.2): a body after a HEAD
 * response would be read by a keep-alive client as the start of its next response.
 */
import type { HttpResponse } from '@trufflesuite/uws-js-unofficial'
import type { XksHttpResponse } from '../xks/http-types'
import { statusLine } from './http-status'

export function writeResponse (res: HttpResponse, response: XksHttpResponse, head: boolean, closeConnection: boolean): void {
  res.cork(() => {
    res.writeStatus(statusLine(response.status)).writeHeader('Content-Type', 'application/json')
    const headers = response.headers
    if (headers !== undefined) for (const name in headers) res.writeHeader(name, headers[name])
    if (head && closeConnection) {
      // This uWS build can end a response without a body and close the connection only as endWithoutBody(length,
      // true), and for any length but 0 it then waits for that many body bytes. A HEAD answered just before the
      // connection closes (a framing error, draining) therefore says Content-Length: 0.
      res.endWithoutBody(0, true)
    } else if (head) {
      // endWithoutBody() without arguments writes no Content-Length: give the one GET would have.
      res.writeHeader('Content-Length', String(Buffer.byteLength(response.body)))
      res.endWithoutBody()
    } else {
      res.end(response.body, closeConnection)
    }
  })
}
