/**
 * Writes responses with node:http, and answers what Node's parser refuses before a request exists. A HEAD request
 * gets what GET would get, header fields and Content-Length included, and no body (RFC 9110 §9.3.2).
 */
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { XksError } from '../xks/errors'
import type { XksHttpResponse } from '../xks/http-types'

export function writeNodeResponse (res: ServerResponse, response: XksHttpResponse, head: boolean, close: boolean): void {
  const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(response.body) }
  const extra = response.headers
  if (extra !== undefined) for (const name in extra) headers[name] = extra[name]
  // Node then closes the connection once this response is written, and answers nothing queued behind it.
  if (close) headers.Connection = 'close'
  res.writeHead(response.status, headers)
  if (head) res.end()
  else res.end(response.body)
}

/** Heads above the size bound (RFC 6585 §5): the only parser error with a status of its own. */
const HEAD_TOO_LARGE = rawResponse('431 Request Header Fields Too Large', new XksError('ValidationException', 'Request head too large.'))

/**
 * Node's parser refused the bytes (malformed head, Transfer-Encoding with Content-Length, a Content-Length that is
 * not a number or repeats, a chunk that is not one): 400 ValidationException naming the parser's code, then close,
 * since nothing after a framing error can be trusted to start a request (RFC 9112 §6.3). A head or keep-alive
 * timeout, or a connection reset, closes without an answer, as uWS does.
 */
export function answerClientError (err: NodeJS.ErrnoException, socket: Socket): void {
  const code = err.code ?? ''
  if (socket.writable && code.startsWith('HPE_') && !(socket as { _httpMessage?: unknown })._httpMessage) {
    socket.end(code === 'HPE_HEADER_OVERFLOW'
      ? HEAD_TOO_LARGE
      : rawResponse('400 Bad Request', new XksError('ValidationException', `Malformed HTTP/1.1 request (${code.slice(4)}).`)))
  }
  socket.destroySoon()
}

function rawResponse (status: string, error: XksError): string {
  const body = error.toBody()
  return `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}
