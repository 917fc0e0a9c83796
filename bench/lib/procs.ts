import { ChildProcess, spawn, SpawnOptions } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'

/**
 * Every child the benchmark starts is tracked here and killed, with its whole process group, when the run ends
 * in any way: normal exit, an error, SIGINT or SIGTERM. A benchmark must never leave a server behind.
 */

const children = new Set<ChildProcess>()

export interface Tracked {
  child: ChildProcess
  /** stdout and stderr, kept for error messages. */
  output: () => string
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. */
  stop: (graceMs?: number) => Promise<void>
}

export function start (cmd: string, args: string[], opts: SpawnOptions = {}): Tracked {
  const child = spawn(cmd, args, { ...opts, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let out = ''
  const keep = (d: Buffer): void => { out = (out + d.toString()).slice(-8000) }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>(resolve => child.once('exit', () => { children.delete(child); resolve() }))
  const stop = async (graceMs = 3000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    signalGroup(child, 'SIGTERM')
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
    // Forked workers of the child may outlive it; the group kill takes them too.
    signalGroup(child, 'SIGKILL')
  }
  return { child, output: () => out, stop }
}

function signalGroup (child: ChildProcess, signal: NodeJS.Signals): void {
  try { process.kill(-child.pid!, signal) } catch {}
}

export function killAllNow (): void {
  for (const child of children) signalGroup(child, 'SIGKILL')
}

/** Installs the last-resort cleanup once, for the orchestrator process. */
export function cleanupOnExit (): void {
  process.on('exit', killAllNow)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => { console.error(`\nbench: ${sig}, stopping servers`); killAllNow(); process.exit(130) })
  }
}

/** Resolves when `t` prints `text` on stdout; rejects if it exits first or the time runs out. */
export function waitForOutput (t: Tracked, text: string, timeoutMs: number): Promise<void> {
  return waitFor(t, timeoutMs, `"${text}" on stdout`, check => {
    t.child.stdout!.on('data', () => check(t.output().includes(text)))
  })
}

/** Resolves when `file` exists; rejects if `t` exits first or the time runs out. */
export function waitForFile (t: Tracked, file: string, timeoutMs: number): Promise<void> {
  return waitFor(t, timeoutMs, file, check => {
    const poll = setInterval(() => check(fs.existsSync(file)), 100)
    t.child.once('exit', () => clearInterval(poll))
  })
}

function waitFor (t: Tracked, timeoutMs: number, what: string, watch: (check: (ok: boolean) => void) => void):
Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false
    const settle = (err?: Error): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err) reject(err); else resolve()
    }
    const timer = setTimeout(() => settle(new Error(`no ${what} within ${timeoutMs} ms:\n${t.output()}`)), timeoutMs)
    t.child.once('exit', code => settle(new Error(`exited (${code}) before ${what}:\n${t.output()}`)))
    watch(ok => { if (ok) settle() })
  })
}

export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })
}
