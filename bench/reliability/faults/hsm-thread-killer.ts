/**
 * Fault injection preload (`node -r .../hsm-thread-killer.js dist/src/dev/cli.js ...`): records every piscina
 * pool the proxy creates, and on SIGUSR2 terminates one worker thread of the first, mid-operation, as a thread
 * that crashed would end. Nothing in the proxy knows about it: piscina is swapped for a subclass in the module
 * cache before the HSM pool loads it. Only for the reliability suite's own processes.
 */
import path from 'node:path'

const pools: Array<{ threads: ReadonlyArray<{ terminate: () => Promise<number> }> }> = []
// Resolved from the proxy's HSM pool, so it is the very module that file will load.
const piscinaPath = require.resolve('piscina', { paths: [path.join(__dirname, '..', '..', '..', 'src', 'hsm')] })
const Piscina = require(piscinaPath)
class RecordedPiscina extends Piscina {
  constructor (...args: unknown[]) {
    super(...args)
    pools.push(this as unknown as typeof pools[number])
  }
}
require.cache[piscinaPath]!.exports = RecordedPiscina

process.on('SIGUSR2', () => {
  const thread = pools[0]?.threads[0]
  if (thread === undefined) return
  void thread.terminate()
  process.stderr.write('hsm-thread-killer: terminated one HSM worker thread\n')
})
