/**
 * The Prometheus endpoint: plain HTTP on its own port (127.0.0.1 by default), never on the public TLS port, so
 * KMS's side of the network cannot read capacity and error figures.
 */
import http from 'node:http'
import type { Logger } from '../log'

export interface MetricsServer {
  port: number
  close: () => Promise<void>
}

export async function startMetricsServer (host: string, port: number, render: () => Promise<string>, log: Logger): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end()
      return
    }
    render().then(body => {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body)
    }, (err: unknown) => {
      log.warn({ err }, 'metrics: collection failed')
      res.writeHead(500).end()
    })
  })
  // Scrapers keep connections open; they must not hold up shutdown.
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}
