/**
 * Polls `condition` every 10 ms; for waiting on recovery without fixed sleeps. The default deadline is generous:
 * it only bounds a wait that would otherwise hang, and on a shared 2-core host at load average 20-30 a process
 * start, a reconnect or a health probe took many seconds. A test that asserts how soon something happens measures
 * that itself, with a bound that says why.
 */
export async function until (what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}
