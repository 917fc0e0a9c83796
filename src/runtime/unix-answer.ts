/**
 * The smallest local protocol: a Unix socket (a path, or an abstract `\0name`) whose server writes one JSON value
 * to whoever connects and closes. Used for the reload status of a cluster primary and the PM2 configuration
 * handover; neither takes input, so there is nothing to parse on the serving side.
 */
import net from 'node:net'

const ANSWER_TIMEOUT_MS = 2000

/** Serves `answer()` as JSON on `socketPath` until close(); the server never keeps the process alive. */
export async function serveAnswer (socketPath: string, answer: () => unknown): Promise<{ close: () => void }> {
  const server = net.createServer(socket => {
    socket.on('error', () => {})
    socket.end(JSON.stringify(answer()) + '\n')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ path: socketPath }, resolve)
  })
  // A failed accept must not crash a serving process.
  server.on('error', () => {})
  server.unref()
  return { close: () => server.close() }
}

/** The JSON value served on `socketPath`, or undefined when nobody serves it (or answers in time). */
export async function readAnswer (socketPath: string): Promise<unknown> {
  return await new Promise(resolve => {
    const socket = net.connect({ path: socketPath })
    let text = ''
    const done = (answer: unknown): void => { socket.destroy(); resolve(answer) }
    socket.setEncoding('utf8')
    socket.setTimeout(ANSWER_TIMEOUT_MS, () => done(undefined))
    socket.on('data', (chunk: string) => { text += chunk })
    socket.on('end', () => {
      try { done(JSON.parse(text)) } catch { done(undefined) }
    })
    // Nobody listens (ENOENT, ECONNREFUSED for a socket whose process is gone).
    socket.on('error', () => done(undefined))
  })
}
