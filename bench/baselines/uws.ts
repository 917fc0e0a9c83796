/**
 * The native uWebSockets.js binary, loaded directly: the package's JS entry silently falls back to a slow
 * pure-JS server when the binary fails to load, which would make every figure here meaningless.
 */

export interface UwsResponse {
  onData (handler: (chunk: ArrayBuffer, isLast: boolean) => void): UwsResponse
  onAborted (handler: () => void): UwsResponse
  writeStatus (status: string): UwsResponse
  writeHeader (key: string, value: string): UwsResponse
  end (body?: string | Buffer): UwsResponse
}

export interface UwsApp {
  any (pattern: string, handler: (res: UwsResponse) => void): UwsApp
  listen (host: string, port: number, cb: (token: unknown) => void): UwsApp
}

export interface Uws {
  SSLApp (opts: { key_file_name: string, cert_file_name: string }): UwsApp
  us_listen_socket_close (token: unknown): void
}

export const uws: Uws = require('@trufflesuite/uws-js-unofficial/binaries/uws_linux_x64_115.node')
