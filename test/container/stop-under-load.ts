/**
 * `node dist/test/container/stop-under-load.js CONNECTION_JSON HEALTH_URL|- -- COMMAND...`: the graceful-stop and
 * reload checks of `npm run test:container`. Sends signed Encrypt requests to the proxy the connection file names
 * and runs COMMAND (`podman stop NAME`, `systemctl stop xksgate`, a reload that waits for its log line) under that
 * load. The load ends when COMMAND exits or, given HEALTH_URL, once its /readyz no longer answers 200, as a load
 * balancer stops sending (docs/operations.md "Shutdown and reload").
 * Prints one JSON line: requests that succeeded and failed, the first failures, and COMMAND's exit status.
 * Exit 0 only when no request failed and COMMAND succeeded.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import type { Connection } from '../helpers/dev-server'
import { signedLoad } from '../helpers/signed-load'

const [connectionFile, healthUrl, separator, ...stopCommand] = process.argv.slice(2)
if (connectionFile === undefined || healthUrl === undefined || separator !== '--' || stopCommand.length === 0) {
  process.stderr.write('usage: stop-under-load CONNECTION_JSON HEALTH_URL|- -- COMMAND...\n')
  process.exit(2)
}

/** Whether the proxy still says it is ready; a refused or reset connection is "not ready". */
async function ready (): Promise<boolean> {
  if (healthUrl === '-') return true
  try {
    return (await fetch(healthUrl, { signal: AbortSignal.timeout(2000) })).status === 200
  } catch {
    return false
  }
}

async function main (): Promise<number> {
  const connection = JSON.parse(fs.readFileSync(connectionFile, 'utf8')) as Connection
  const load = signedLoad(connection, connection, 4, 25)
  // A second of load before the stop, so requests are in flight when the signal arrives.
  await new Promise(resolve => setTimeout(resolve, 1000))
  const stopper = spawn(stopCommand[0], stopCommand.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] })
  const stopped = new Promise<number>(resolve => stopper.on('exit', code => resolve(code ?? 1)))
  const running = (): boolean => stopper.exitCode === null && stopper.signalCode === null
  while (running() && await ready()) await new Promise(resolve => setTimeout(resolve, 100))
  const counts = await load.stop()
  const stopExit = await stopped
  process.stdout.write(JSON.stringify({ ok: counts.ok, failed: counts.failed, errors: counts.errors, stopExit }) + '\n')
  return counts.failed === 0 && counts.ok > 0 && stopExit === 0 ? 0 : 1
}

main().then(code => process.exit(code), (err: Error) => {
  process.stderr.write(`stop-under-load: ${err.message}\n`)
  process.exit(1)
})
