/**
 * Fault injection preload (`node -r .../backend-fault-toggle.js dist/src/dev/cli.js --dir DIR --backends 2 ...`):
 * on SIGUSR2 makes the last HSM backend of DIR/config.json fail, on the next SIGUSR2 restores it, and so on. The
 * fault is test/helpers/token-fault.ts (its PIN changed and every session on it closed), applied inside the proxy
 * because PKCS#11 state is per process; nothing in the proxy knows about it. Only for the reliability suite's own
 * single-process proxies (with one process the dev CLI's process is the serving process).
 */
import fs from 'node:fs'
import path from 'node:path'
import { TokenFault } from '../../../test/helpers/token-fault'

interface BackendEntry { name?: string, modulePath: string, tokenLabel: string, pin: string | { file: string } }

let fault: TokenFault | undefined
let broken = false

function lastBackend (): BackendEntry {
  const dir = process.argv[process.argv.indexOf('--dir') + 1]
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { hsm: BackendEntry | BackendEntry[] }
  if (!Array.isArray(config.hsm) || config.hsm.length < 2) throw new Error('backend-fault-toggle: the config has fewer than two HSM backends')
  return config.hsm[config.hsm.length - 1]
}

process.on('SIGUSR2', () => {
  try {
    const backend = lastBackend()
    const pin = typeof backend.pin === 'string' ? backend.pin : fs.readFileSync(backend.pin.file, 'utf8').trim()
    // Made on the first signal: by then the proxy has set SOFTHSM2_CONF and initialised the module.
    fault ??= new TokenFault(backend.modulePath, backend.tokenLabel, pin)
    if (broken) fault.restore()
    else fault.break()
    broken = !broken
    process.stderr.write(`backend-fault-toggle: backend ${backend.name ?? backend.tokenLabel} ${broken ? 'broken' : 'restored'}\n`)
  } catch (err) {
    process.stderr.write(`backend-fault-toggle: failed: ${(err as Error).message}\n`)
  }
})
