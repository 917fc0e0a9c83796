/**
 * Which processes listen on a TCP port, to name them when xksgate refuses a port that something else serves.
 * Linux only: the LISTEN sockets of /proc/net/tcp and tcp6, matched by inode against /proc/<pid>/fd. Processes of
 * other users are not visible without privileges; elsewhere the answer is simply empty. Only the pid and the
 * executable's file name are reported: a command line may carry another program's secrets. The name comes from
 * /proc/<pid>/exe, not /proc/<pid>/comm, which is the main thread's name: Node 22 and later name theirs
 * "MainThread", which would not tell an operator that the holder is a Node process.
 */
import fs from 'node:fs'

export interface PortHolder {
  pid: number
  command: string
}

const LISTEN = '0A'

export function listeningProcesses (port: number): PortHolder[] {
  const inodes = listeningInodes(port)
  if (inodes.size === 0) return []
  const holders: PortHolder[] = []
  for (const pid of readdir('/proc').filter(name => /^\d+$/.test(name))) {
    const holds = readdir(`/proc/${pid}/fd`).some(fd => {
      const target = readlink(`/proc/${pid}/fd/${fd}`)
      return target.startsWith('socket:[') && inodes.has(target.slice('socket:['.length, -1))
    })
    if (holds) holders.push({ pid: Number(pid), command: executableName(pid) })
  }
  return holders
}

/** The executable's file name ("node", "nginx"), or the thread name where the link cannot be read. */
function executableName (pid: string): string {
  const exe = readlink(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '')
  return exe.slice(exe.lastIndexOf('/') + 1) || readText(`/proc/${pid}/comm`).trim() || '?'
}

export function describeHolders (holders: readonly PortHolder[]): string {
  if (holders.length === 0) return 'a process this user cannot see (another user\'s, or outside /proc)'
  return holders.map(h => `pid ${h.pid} (${h.command})`).join(', ')
}

/** Inodes of the sockets listening on `port`: lines are `sl local_address rem_address st ... inode`, hex ports. */
function listeningInodes (port: number): Set<string> {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readText(table).split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      if (fields.length < 10 || fields[3] !== LISTEN) continue
      if (Number.parseInt(fields[1].slice(fields[1].lastIndexOf(':') + 1), 16) === port) inodes.add(fields[9])
    }
  }
  return inodes
}

function readdir (dir: string): string[] {
  try { return fs.readdirSync(dir) } catch { return [] }
}

function readlink (file: string): string {
  try { return fs.readlinkSync(file) } catch { return '' }
}

function readText (file: string): string {
  try { return fs.readFileSync(file, 'utf8') } catch { return '' }
}
