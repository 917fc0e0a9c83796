/**
 * `xksgate ready --config FILE [--wait SECONDS] [--pid PID]`: asks the running proxy's /readyz whether it serves,
 * for what has no IPC channel to it: systemd's ExecStartPost (deploy/systemd/xksgate.service: the unit becomes
 * active only once the proxy serves, which is what Type=notify would give, without a native sd_notify binding) and
 * a container's HEALTHCHECK. It asks the health port (`healthPort.port`, plain HTTP) when one is configured, else
 * the TLS port. With --pid (the unit passes $MAINPID) it stops waiting as soon as that process is gone: a proxy
 * that exited on a wrong HSM PIN will never answer, and the start should fail then, not after --wait.
 */
import { configFileFrom } from '../config/cli-args'
import http from 'node:http'
import https from 'node:https'
import { ConfigError, loadConfig } from '../config/load'
import type { XksgateConfig } from '../config/schema'
import { processExists } from '../runtime/process-exists'
import { FAILED_EXIT, OK_EXIT, USAGE_EXIT, type CliCommand, type CliIo } from './command'
import { parseCliArgs } from './parse'

const HELP = `usage: xksgate ready [--config FILE] [--wait SECONDS] [--pid PID] [--json]

  --config FILE     the proxy's JSON configuration (default: $XKSGATE_CONFIG): where it listens
  --wait SECONDS    ask again every 0.5 s until it is ready or SECONDS have passed (default 0: ask once)
  --pid PID         the proxy's process (systemd: $MAINPID): stop waiting, not ready, as soon as it has exited
  --json            print {"ready":…,"url":…,"status":…,"detail":…} instead of a sentence

Asks the health port's /readyz (healthPort.port) when one is configured, else the TLS port's.
Exit status: 0 ready; 1 not ready (or not answering) by the end of --wait, or the --pid process exited;
2 invalid command line or configuration.
`

const ATTEMPT_TIMEOUT_MS = 2000
const RETRY_MS = 500

interface Probe { ok: boolean, status?: number, detail: string }

/** Where the proxy's own loopback answers: a wildcard listen address is reached on loopback. */
function probeHost (host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1'
  if (host === '::') return '::1'
  return host
}

export function readyUrl (config: XksgateConfig): string {
  const { port, host } = config.healthPort
  if (port !== undefined) return `http://${urlHost(probeHost(host))}:${port}/readyz`
  return `https://${urlHost(probeHost(config.server.host))}:${config.server.port}/readyz`
}

function urlHost (host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

function probe (url: string): Promise<Probe> {
  return new Promise(resolve => {
    // The proxy's own certificate is checked by `xksgate config check` and by KMS; this asks only whether it serves.
    const get = url.startsWith('https:') ? https.get(url, { rejectUnauthorized: false, timeout: ATTEMPT_TIMEOUT_MS }) : http.get(url, { timeout: ATTEMPT_TIMEOUT_MS })
    get.on('response', res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ ok: res.statusCode === 200, status: res.statusCode, detail: body.trim().slice(0, 300) }))
    })
    get.on('timeout', () => get.destroy(new Error(`no answer within ${ATTEMPT_TIMEOUT_MS} ms`)))
    get.on('error', err => resolve({ ok: false, detail: err.message }))
  })
}

async function waitReady (url: string, waitMs: number, pid: number | undefined): Promise<Probe> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const result = await probe(url)
    const left = deadline - Date.now()
    if (result.ok || left <= 0) return result
    if (pid !== undefined && !processExists(pid)) return { ok: false, detail: `the proxy's process ${pid} has exited (see its log for why)` }
    await new Promise(resolve => setTimeout(resolve, Math.min(RETRY_MS, left)))
  }
}

export const readyCommand: CliCommand = {
  name: 'ready',
  summary: 'ask the running proxy\'s /readyz whether it serves (systemd ExecStartPost, container HEALTHCHECK)',
  async run (args: string[], io: CliIo): Promise<number> {
    const program = 'xksgate ready'
    const parsed = parseCliArgs(program, args, { config: { type: 'string' }, wait: { type: 'string' }, pid: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } }, io)
    if (typeof parsed === 'number') return parsed
    if (parsed.help === true) { io.stdout(HELP); return OK_EXIT }
    const wait = Number(parsed.wait ?? '0')
    const pid = parsed.pid === undefined ? undefined : Number(parsed.pid)
    const usage = parsed.positionals.length > 0
      ? `Unexpected argument '${parsed.positionals[0]}'`
      : !Number.isFinite(wait) || wait < 0 || wait > 3600
          ? `--wait must be 0-3600 seconds, got ${parsed.wait ?? ''}`
          // An empty $MAINPID (systemd knows no main process) lands here too, rather than waiting on nothing.
          : pid !== undefined && !(Number.isSafeInteger(pid) && pid > 0) ? `--pid must be a process id, got '${parsed.pid ?? ''}'` : undefined
    if (usage !== undefined) {
      io.stderr(`${program}: ${usage} (see ${program} --help)\n`)
      return USAGE_EXIT
    }
    const file = configFileFrom(parsed.config, io.env)
    if (file === undefined) {
      io.stderr(`${program}: no configuration: give --config FILE or set XKSGATE_CONFIG (see ${program} --help)\n`)
      return USAGE_EXIT
    }
    let url: string
    try {
      url = readyUrl(loadConfig({ file, env: io.env }))
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      io.stderr(`${program}: ${err.message}\n`)
      return USAGE_EXIT
    }
    const result = await waitReady(url, wait * 1000, pid)
    if (parsed.json === true) io.stdout(JSON.stringify({ ready: result.ok, url, status: result.status ?? null, detail: result.detail }) + '\n')
    else if (result.ok) io.stdout(`${program}: ${url} is ready\n`)
    else io.stderr(`${program}: ${url} is not ready: ${result.status !== undefined ? `${result.status} ` : ''}${result.detail}\n`)
    return result.ok ? OK_EXIT : FAILED_EXIT
  },
}
