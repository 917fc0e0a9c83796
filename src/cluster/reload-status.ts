/**
 * Where `xksgate reload` learns the outcome of the reload its SIGHUP started: the primary answers whoever
 * connects to the abstract Unix socket `@xksgate-reload/<pid>` with its ReloadStatus as one JSON line (Linux; the
 * name vanishes with the process, as the port announcements of port-ownership.ts do). The status names fields and
 * files, never a value from the configuration.
 */
import net from 'node:net'
import type { ReloadStatus } from './reload'

const ANSWER_TIMEOUT_MS = 1000

function socketName (pid: number): string {
  return `\0xksgate-reload/${pid}`
}

export async function serveReloadStatus (status: () => ReloadStatus): Promise<{ close: () => void }> {
  const server = net.createServer(socket => {
    socket.on('error', () => {})
    socket.end(JSON.stringify(status()) + '\n')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ path: socketName(process.pid) }, resolve)
  })
  server.unref()
  return { close: () => server.close() }
}

/** The status of the primary with this pid, or undefined when it does not answer (not a cluster primary). */
export async function askReloadStatus (pid: number): Promise<ReloadStatus | undefined> {
  return await new Promise(resolve => {
    const socket = net.connect({ path: socketName(pid) })
    let text = ''
    const done = (answer: ReloadStatus | undefined): void => { socket.destroy(); resolve(answer) }
    socket.setEncoding('utf8')
    socket.setTimeout(ANSWER_TIMEOUT_MS, () => done(undefined))
    socket.on('data', (chunk: string) => { text += chunk })
    socket.on('end', () => {
      try { done(JSON.parse(text) as ReloadStatus) } catch { done(undefined) }
    })
    socket.on('error', () => done(undefined))
  })
}
