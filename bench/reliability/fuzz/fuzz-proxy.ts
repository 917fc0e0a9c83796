import { callOnce } from '../../lib/connection-info'
import { Signer } from '../../sign'
import { startFaultProxy } from '../proxy'
import { runFuzz, type FuzzTotals } from './run-fuzz'

const BODY_TIMEOUT_MS = 300

export interface FuzzRun {
  totals: FuzzTotals
  /** Crashes and lost service: the proxy exited, restarted, logged a fatal line, or no longer serves. */
  problems: string[]
}

/**
 * The fuzzer against a proxy of its own (one serving process, so a crash is an exit, not a silent replacement),
 * then the checks that it survived: still the same process, no fatal log line, and a valid Encrypt answered 200.
 * bodyTimeoutMs is short so that bodies announced longer than sent cost the fuzzer 300 ms, not 5 s.
 */
export async function fuzzProxy (devDir: string, o: { seed: number, count: number, lanes: number, first?: number }): Promise<FuzzRun> {
  const proxy = await startFaultProxy(devDir, 'fuzz', { env: { XKSGATE__server__bodyTimeoutMs: String(BODY_TIMEOUT_MS), XKSGATE__log__level: 'warn' } })
  try {
    const totals = await runFuzz({
      host: '127.0.0.1',
      port: proxy.port,
      target: { hostHeader: `127.0.0.1:${proxy.port}`, signer: new Signer(proxy.creds), templates: proxy.templates },
      bodyTimeoutMs: BODY_TIMEOUT_MS,
      ...o,
    })
    const problems: string[] = []
    if (proxy.proc.child.exitCode !== null || proxy.proc.child.signalCode !== null) problems.push(`the proxy exited (${proxy.proc.child.exitCode ?? proxy.proc.child.signalCode})`)
    const fatal = proxy.log().split('\n').filter(line => /"level":60|uncaught|FATAL ERROR/i.test(line))
    if (fatal.length > 0) problems.push(`fatal log lines: ${fatal.slice(0, 3).join(' | ')}`)
    const after = await callOnce(proxy.port, proxy.creds, proxy.templates[0]).catch((err: Error) => ({ status: 0, body: err.message }))
    if (after.status !== 200) problems.push(`a valid ${proxy.templates[0].op} after the fuzz answered ${after.status}: ${after.body}`)
    return { totals, problems }
  } finally {
    await proxy.proc.stop()
  }
}
