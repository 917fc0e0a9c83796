import { type ChildProcess, spawn } from 'node:child_process'
import net from 'node:net'
import { freePort } from '../../src/dev/free-port'

/** A redis-server owned by one test file: no persistence, a free TCP port, killed in teardown. */
export interface TestRedis {
  port: number
  url: string
  /** Graceful stop (SIGTERM), waiting for the process to exit. */
  stop: () => Promise<void>
  /** Sends `signal` (e.g. SIGKILL to simulate a crash) and waits for the exit. */
  kill: (signal: NodeJS.Signals) => Promise<void>
  /** Starts a fresh, empty server on the same port, once the previous one has exited. */
  restart: () => Promise<void>
}

export async function startRedis (): Promise<TestRedis> {
  const port = await freePort()
  let child = await launch(port)
  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill(signal)
    await exited
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: async () => await kill('SIGTERM'),
    kill,
    restart: async () => {
      await kill('SIGTERM')
      child = await launch(port)
    },
  }
}

async function launch (port: number): Promise<ChildProcess> {
  const child = spawn('redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' })
  const deadline = Date.now() + 5000
  while (!await pings(port)) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} on port ${port}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`redis-server did not answer PING on port ${port}`)
    }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return child
}

/** One raw RESP PING, so the helper does not depend on the client under test. */
async function pings (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1')
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok) }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', data => done(data.toString().startsWith('+PONG')))
  })
}
