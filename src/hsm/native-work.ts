/**
 * Spans in which a thread may be inside a PKCS#11 call that never returns, as a network HSM's library can when
 * the HSM stops answering. Node joins every worker thread when the process exits, process.exit included, and a
 * thread inside native code cannot be joined: the process would log that it stopped and stay, holding its port
 * and hiding the outage from systemd or PM2 (measured: SIGTERM during a start on such a module logged "stopped
 * cleanly" and the process stayed until killed). So the HSM pools mark the spans in which they cannot abandon
 * their threads cleanly (a start, a close), and the process's exit (src/runtime/exit.ts) ends it with SIGKILL while
 * one is open: the supervisor then sees a failure and restarts it.
 */

const open = new Map<number, string>()
let nextId = 0

/** Marks the span `what`; the returned function ends it. */
export function markNativeWork (what: string): () => void {
  const id = nextId++
  open.set(id, what)
  return () => { open.delete(id) }
}

/** The spans still open, by what they said. */
export function openNativeWork (): string[] {
  return [...open.values()]
}
