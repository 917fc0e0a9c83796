import fs from 'node:fs'

/** Per-process figures from /proc: resident memory and CPU time, for a process and all its descendants. */

const CLOCK_TICKS = 100

function stat (pid: number): string[] | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may contain spaces; the fields after it are split from the closing parenthesis.
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch { return undefined }
}

/** `pid` and its descendants. */
export function processTree (pid: number): number[] {
  const parents = new Map<number, number[]>()
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const ppid = Number(stat(Number(name))?.[1])
    if (!parents.has(ppid)) parents.set(ppid, [])
    parents.get(ppid)!.push(Number(name))
  }
  const out: number[] = []
  const walk = (p: number): void => { out.push(p); for (const c of parents.get(p) ?? []) walk(c) }
  walk(pid)
  return out
}

export function rssMb (pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : 0
  } catch { return 0 }
}

/** User + system CPU seconds consumed so far. */
export function cpuSeconds (pid: number): number {
  const f = stat(pid)
  return f ? (Number(f[11]) + Number(f[12])) / CLOCK_TICKS : 0
}

/** CPU seconds of a whole tree, for measuring how many cores a server used over a window. */
export const treeCpuSeconds = (pid: number): number => processTree(pid).reduce((s, p) => s + cpuSeconds(p), 0)

export const treeRss = (pid: number): Array<{ pid: number, rssMb: number }> =>
  processTree(pid).map(p => ({ pid: p, rssMb: rssMb(p) }))

/** Busy CPU seconds of the whole machine so far (all cores, everything but idle and iowait). */
export function machineBusySeconds (): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0)
  return (total - f[3] - f[4]) / CLOCK_TICKS
}

/**
 * Waits (up to maxMs) until the machine's busy CPU stays under 0.3 cores over half a second, because other
 * people's builds and tests share these two cores. Returns the busy cores last seen.
 */
export async function waitForQuiet (maxMs: number): Promise<number> {
  const deadline = Date.now() + maxMs
  for (;;) {
    const busy0 = machineBusySeconds()
    await new Promise(resolve => setTimeout(resolve, 500))
    const cores = (machineBusySeconds() - busy0) / 0.5
    if (cores < 0.3 || Date.now() >= deadline) return cores
  }
}
