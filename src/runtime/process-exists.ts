/**
 * Whether a process id names a live process, asked with signal 0 (kill(2): nothing is sent, only the checks are
 * made). EPERM means a process of another user has that id: it exists, so callers that wait for it to go, or that
 * must not take over what it holds, treat it as alive.
 */
export function processExists (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
