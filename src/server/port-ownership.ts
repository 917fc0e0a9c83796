/**
 * Who may serve a port. The TLS and health listeners set SO_REUSEPORT, so a second, unrelated proxy binding a port
 * that is already served would succeed silently, and the kernel would split KMS traffic between the two. Only the
 * processes of one fleet share a port: the serving processes of one cluster primary (the primary claims the port
 * once, before it forks them) or the instances of one PM2 app (each instance claims it; the old and the new
 * instance overlap during `pm2 reload`). Anything else refuses to start, naming the port and what holds it.
 *
 * A claim, per port:
 *   1. Ask the fleet that announces the port on the abstract Unix socket `@xksgate-port/<host>:<port>` (Linux; the
 *      name vanishes with its process, so there is no file to go stale). Same fleet: share the port. Another fleet:
 *      refuse.
 *   2. Nobody announces: if a bind without SO_REUSEPORT (node:net) succeeds, the port is free and this fleet
 *      announces it from now on. If that bind fails, something else holds the port: refuse, after allowing a moment
 *      for an announcer that is being replaced (below).
 * Every member keeps a connection to the announcer; when the announcer's process exits, the members race to take
 * its place, so during a PM2 reload (instance 0 stops, instance 1 goes on serving) the port stays announced.
 *
 * Not covered: a program without this check that binds the port after the claim. Without SO_REUSEPORT it makes
 * this fleet's own bind fail ("cannot listen"); with it (another uWS server of the same user, an xksgate from before
 * this check) it shares the port as before.
 */
import { randomUUID } from 'node:crypto'
import net from 'node:net'
import { StartupError } from '../runtime/exit'
import { describeHolders, listeningProcesses } from './port-holders'

export interface PortToClaim {
  /** The config field that chose the port, named as config errors name fields (e.g. `/server/port`). */
  field: string
  host: string
  port: number
}

export interface PortClaims {
  release: () => void
}

/** An expected startup failure: one line for the operator, exit 1, no stack trace (runtime/exit.ts). */
export class PortInUseError extends StartupError {
  constructor (message: string) {
    super(message)
    this.name = 'PortInUseError'
  }
}

/** Members of one fleet have the same id; the description is for messages. */
export interface Fleet {
  id: string
  description: string
}

/** What an announcer tells whoever connects, as one JSON line. */
interface Announcement extends Fleet {
  pid: number
}

/** How long a claim waits for an announcer being replaced (its successor binds the name within milliseconds). */
const TAKEOVER_PATIENCE_MS = 1000
const RETRY_MS = 20
/** An announcer that accepts a connection but does not answer is treated as absent. */
const ANSWER_TIMEOUT_MS = 1000

/**
 * The fleet this process belongs to. PM2 exports each app's name and instance id into the environment of its
 * instances; instances of one app started from one config file are one fleet. Any other start is a fleet of its own.
 */
export function fleetOf (configFile: string, env: NodeJS.ProcessEnv = process.env): Fleet {
  if (env.pm_id !== undefined && env.name !== undefined) {
    return { id: JSON.stringify(['pm2', env.PM2_HOME ?? '', env.name, configFile]), description: `PM2 app "${env.name}" with config ${configFile}` }
  }
  return { id: JSON.stringify(['alone', randomUUID()]), description: `xksgate with config ${configFile}` }
}

/** Claims every port, or none: a refusal releases the ports already claimed. Port 0 (any free port) needs no claim. */
export async function claimPorts (fleet: Fleet, ports: readonly PortToClaim[]): Promise<PortClaims> {
  const members: FleetMember[] = []
  const release = (): void => { for (const member of members) member.release() }
  try {
    for (const port of ports.filter(p => p.port !== 0)) members.push(await claimPort(fleet, port))
  } catch (err) {
    release()
    throw err
  }
  return { release }
}

async function claimPort (fleet: Fleet, { field, host, port }: PortToClaim): Promise<FleetMember> {
  const name = `\0xksgate-port/${host}:${port}`
  const member = new FleetMember(name, JSON.stringify({ ...fleet, pid: process.pid } satisfies Announcement) + '\n')
  const deadline = Date.now() + TAKEOVER_PATIENCE_MS
  for (;;) {
    const holder = await ask(name)
    if (holder !== undefined) {
      if (holder.id !== fleet.id) {
        throw new PortInUseError(`${field}: port ${port} on ${host} is already served by ${holder.description} (pid ${holder.pid}). ` +
          'Only the processes of one cluster primary or one PM2 app may share a port: stop that one or choose another port.')
      }
      await member.join()
      return member
    }
    if (await bindsAlone(host, port)) {
      if (await member.announce()) return member
      // Another process announced the port in the meantime: ask it.
      continue
    }
    if (Date.now() > deadline) {
      throw new PortInUseError(`${field}: port ${port} on ${host} is already in use by ${describeHolders(listeningProcesses(port))}, ` +
        'which is not a member of this xksgate fleet. Stop it or choose another port.')
    }
    await new Promise(resolve => setTimeout(resolve, RETRY_MS))
  }
}

/** The process that announces `host:port` for its fleet (the cluster primary, or one PM2 instance), if any. */
export async function portAnnouncer (host: string, port: number): Promise<{ pid: number, description: string } | undefined> {
  return await ask(`\0xksgate-port/${host}:${port}`)
}

/** The announcer of the name, or undefined when nobody listens on it (or it does not answer). */
async function ask (name: string): Promise<Announcement | undefined> {
  return await new Promise(resolve => {
    const socket = net.connect({ path: name })
    let text = ''
    const done = (answer: Announcement | undefined): void => {
      socket.destroy()
      resolve(answer)
    }
    socket.setEncoding('utf8')
    socket.setTimeout(ANSWER_TIMEOUT_MS, () => done(undefined))
    socket.on('data', (chunk: string) => {
      text += chunk
      const end = text.indexOf('\n')
      if (end >= 0) done(parseAnnouncement(text.slice(0, end)))
    })
    socket.on('error', () => done(undefined))
    socket.on('close', () => done(undefined))
  })
}

function parseAnnouncement (line: string): Announcement | undefined {
  try {
    const value = JSON.parse(line) as Partial<Announcement>
    const { id, description, pid } = value
    return typeof id === 'string' && typeof description === 'string' && typeof pid === 'number' ? { id, description, pid } : undefined
  } catch {
    return undefined
  }
}

/** Whether a listener without SO_REUSEPORT can bind the port, i.e. nobody listens on it (errors other than in-use throw). */
async function bindsAlone (host: string, port: number): Promise<boolean> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EADDRINUSE') resolve(false); else reject(err) })
    // exclusive: never a handle shared through a cluster primary.
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/** One process's membership in the fleet of one port: the announcer, or a member watching it to take over. */
class FleetMember {
  #server: net.Server | undefined
  /** As announcer: the members' connections, closed on release so that one of them takes over at once. */
  readonly #followers = new Set<net.Socket>()
  #watch: net.Socket | undefined
  #released = false

  constructor (private readonly name: string, private readonly announcement: string) {}

  /** Becomes the announcer; false if another process holds the name. */
  async announce (): Promise<boolean> {
    const server = net.createServer(socket => {
      this.#followers.add(socket)
      socket.on('error', () => {})
      socket.once('close', () => this.#followers.delete(socket))
      // Kept open: members learn from its closing that the announcer is gone.
      socket.unref()
      socket.write(this.announcement)
    })
    const listening = await new Promise<boolean>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EADDRINUSE') resolve(false); else reject(err) })
      server.listen({ path: this.name }, () => resolve(true))
    })
    if (!listening) return false
    // A failed accept must not crash a serving process; the serving sockets keep the process alive, never this.
    server.on('error', () => {})
    server.unref()
    this.#server = server
    return true
  }

  /** Follows the current announcer, and takes over when it goes. */
  async join (): Promise<void> {
    while (!this.#released) {
      if (await this.announce()) return
      const watch = await connected(this.name)
      if (watch !== undefined) {
        this.#watch = watch
        watch.unref()
        // Read (and drop) the announcement, so that the announcer's exit is seen as the end of the stream.
        watch.resume()
        watch.once('close', () => {
          this.#watch = undefined
          // A member that cannot follow any more errs on the safe side: later claims are refused, not shared.
          if (!this.#released) this.join().catch(() => {})
        })
        return
      }
      // Between an announcer's exit and its successor's listen: try again.
      await new Promise(resolve => setTimeout(resolve, RETRY_MS))
    }
  }

  release (): void {
    this.#released = true
    this.#server?.close()
    for (const socket of this.#followers) socket.destroy()
    this.#watch?.destroy()
  }
}

async function connected (name: string): Promise<net.Socket | undefined> {
  return await new Promise(resolve => {
    const socket = net.connect({ path: name })
    socket.once('connect', () => {
      socket.removeAllListeners('error')
      socket.on('error', () => {})
      resolve(socket)
    })
    socket.once('error', () => resolve(undefined))
  })
}
