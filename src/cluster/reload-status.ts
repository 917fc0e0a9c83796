/**
 * Where `xksgate reload` learns the outcome of the reload its SIGHUP started: the primary answers whoever
 * connects to the abstract Unix socket `@xksgate-reload/<pid>` with its ReloadStatus as one JSON line (Linux; the
 * name vanishes with the process, as the port announcements of port-ownership.ts do). The status names fields and
 * files, never a value from the configuration.
 */
import { readAnswer, serveAnswer } from '../runtime/unix-answer'
import type { ReloadStatus } from '../runtime/reload-queue'

function socketName (pid: number): string {
  return `\0xksgate-reload/${pid}`
}

export async function serveReloadStatus (status: () => ReloadStatus): Promise<{ close: () => void }> {
  return await serveAnswer(socketName(process.pid), status)
}

/** The status of the primary with this pid, or undefined when it does not answer (not a cluster primary). */
export async function askReloadStatus (pid: number): Promise<ReloadStatus | undefined> {
  return await readAnswer(socketName(pid)) as ReloadStatus | undefined
}
