import { ChildProcess, spawn, SpawnOptions } from 'node:child_process'
import fs from 'node:fs'

/**
 * Every child the benchmark starts is tracked here and killed, with its whole process group, when the run ends
 * in any way: normal exit, an error, SIGINT or SIGTERM. A benchmark must never leave a server behind.
 */

const children = new Set<ChildProcess>()

export interface Tracked {
  child: ChildProcess
  /** The end of stdout and stderr, for readiness checks and error messages. */
  output: () => string
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. */
  stop: (graceMs?: number) => Promise<void>
}

/**
 * Starts a child in its own process group, its stdout and stderr going to `logFile`. A file rather than a pipe:
 * a server that logs every request would otherwise make the load generator's process read and buffer it all,
 * on the cores it shares with the server. `stdoutPipe` gives stdout to a pipe instead (child.stdout), for a
 * caller that decides how it is read, or that it is not.
 */
export function start (cmd: string, args: string[], logFile: string, opts: SpawnOptions = {}, stdoutPipe = false): Tracked {
  const fd = fs.openSync(logFile, 'a')
  const child = spawn(cmd, args, { ...opts, detached: true, stdio: ['ignore', stdoutPipe ? 'pipe' : fd, fd] })
  fs.closeSync(fd)
  children.add(child)
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
  return { child, output: () => tail(logFile), stop }
}

function tail (file: string): string {
  const fd = fs.openSync(file, 'r')
  try {
    const size = fs.fstatSync(fd).size
    const buf = Buffer.alloc(Math.min(size, 8000))
    fs.readSync(fd, buf, 0, buf.length, size - buf.length)
    return buf.toString()
  } finally {
    fs.closeSync(fd)
  }
}

function signalGroup (child: ChildProcess, signal: NodeJS.Signals): void {
  try { process.kill(-child.pid!, signal) } catch {}
}

export function killAllNow (): void {
  for (const child of children) signalGroup(child, 'SIGKILL')
}

/** Installs the last-resort cleanup once, for the orchestrator process: kill every child, remove `workDir`. */
export function cleanupOnExit (workDir: string): void {
  process.on('exit', () => {
    killAllNow()
    fs.rmSync(workDir, { recursive: true, force: true })
  })
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => { console.error(`\nbench: ${sig}, stopping servers`); killAllNow(); process.exit(130) })
  }
}

/** Resolves when `t` has printed `text`; rejects if it exits first or the time runs out. */
export const waitForOutput = (t: Tracked, text: string, timeoutMs: number): Promise<void> =>
  waitFor(t, timeoutMs, `"${text}" in its output`, () => t.output().includes(text))

/** Resolves when `file` exists; rejects if `t` exits first or the time runs out. */
export const waitForFile = (t: Tracked, file: string, timeoutMs: number): Promise<void> =>
  waitFor(t, timeoutMs, file, () => fs.existsSync(file))

function waitFor (t: Tracked, timeoutMs: number, what: string, ready: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false
    const settle = (err?: Error): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearInterval(poll)
      if (err) reject(err); else resolve()
    }
    const timer = setTimeout(() => settle(new Error(`no ${what} within ${timeoutMs} ms:\n${t.output()}`)), timeoutMs)
    const poll = setInterval(() => { if (ready()) settle() }, 50)
    t.child.once('exit', code => settle(new Error(`exited (${code}) before ${what}:\n${t.output()}`)))
  })
}
