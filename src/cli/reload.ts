/**
 * `xksgate reload`: validate the configuration, send SIGHUP to the xksgate process serving it — the cluster
 * primary, or the one serving process, which applies it in place — and report what it did (its reload status,
 * src/cluster/reload-status.ts). The process is found by `--pid`, by the `pid` of a connection.json
 * (`npm run dev`), or — with only `--config` — as the process that announces the configured port for its fleet
 * (src/server/port-ownership.ts). An invalid file is refused here, before any signal is sent.
 */
import { configFileFrom } from '../config/cli-args'
import fs from 'node:fs'
import path from 'node:path'
import { askReloadStatus } from '../cluster/reload-status'
import type { ReloadStatus } from '../runtime/reload-queue'
import { ConfigError, loadConfig } from '../config/load'
import { portAnnouncer } from '../server/port-ownership'
import { FAILED_EXIT, OK_EXIT, USAGE_EXIT, type CliCommand, type CliIo } from './command'
import { parseCliArgs } from './parse'

const PROGRAM = 'xksgate reload'
const POLL_MS = 100

const HELP = `usage: xksgate reload [--config FILE] [--pid PID | --connection FILE] [--timeout-ms N] [--no-wait] [--json]

Validates the configuration, sends SIGHUP to the xksgate process serving it, and waits for the outcome: the
cluster primary replaces every serving process one at a time, one serving process (cluster.processes 1) applies
the configuration in place; either way no request is refused. Or the reload is refused or failed, with the
fields named, and the running processes keep serving what they had.

  --config FILE      the configuration to validate (default: connection.json's configFile, or $XKSGATE_CONFIG)
  --pid PID          the cluster primary or the one serving process (default: the pid in --connection, else the
                     process announcing the configured server.port)
  --connection FILE  a connection.json written by npm run dev (pid and configFile)
  --timeout-ms N     how long to wait for the outcome (default 120000)
  --no-wait          send SIGHUP after the check and exit 0 without waiting
  --json             print the outcome as one JSON object

Exit status: 0 reload applied (or sent, with --no-wait); 1 the primary refused or could not finish it, or was
not found; 2 invalid command line or configuration (nothing was sent).
`

export const reloadCommand: CliCommand = {
  name: 'reload',
  summary: 'validate the configuration, then reload the running proxy without downtime (SIGHUP)',
  async run (args: string[], io: CliIo): Promise<number> {
    const parsed = parseCliArgs(PROGRAM, args, {
      config: { type: 'string' },
      pid: { type: 'string' },
      connection: { type: 'string' },
      'timeout-ms': { type: 'string', default: '120000' },
      'no-wait': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    }, io)
    if (typeof parsed === 'number') return parsed
    if (parsed.help) { io.stdout(HELP); return OK_EXIT }
    const usage = (message: string): number => { io.stderr(`${PROGRAM}: ${message} (see ${PROGRAM} --help)\n`); return USAGE_EXIT }
    if (parsed.positionals.length > 0) return usage(`Unexpected argument '${parsed.positionals[0]}'`)
    const timeoutMs = Number(parsed['timeout-ms'])
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0) return usage(`--timeout-ms must be a whole number, got ${parsed['timeout-ms']}`)
    let connection: { pid?: unknown, configFile?: unknown } = {}
    if (parsed.connection !== undefined) {
      try {
        connection = JSON.parse(fs.readFileSync(parsed.connection, 'utf8')) as typeof connection
      } catch (err) {
        return usage(`cannot read ${parsed.connection}: ${(err as Error).message}`)
      }
    }
    const file = configFileFrom(parsed.config ?? (typeof connection.configFile === 'string' ? connection.configFile : undefined), io.env)
    if (file === undefined) return usage('no configuration: give --config FILE, --connection FILE or set XKSGATE_CONFIG')
    let config
    try {
      config = loadConfig({ file, env: io.env })
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      io.stderr(`${PROGRAM}: not sent: ${err.message}\n`)
      return USAGE_EXIT
    }
    const pid = parsed.pid !== undefined ? Number(parsed.pid) : typeof connection.pid === 'number' ? connection.pid : await announcedPid(config.server.host, config.server.port, io)
    if (pid === undefined) return FAILED_EXIT
    if (!Number.isInteger(pid) || pid <= 0) return usage(`--pid must be a process id, got ${parsed.pid}`)
    const before = await askReloadStatus(pid)
    if (before === undefined) {
      io.stderr(`${PROGRAM}: pid ${pid} is not an xksgate proxy (a cluster primary or one serving process) that answers on its reload status socket; under PM2 run pm2 reload ecosystem.config.cjs\n`)
      return FAILED_EXIT
    }
    process.kill(pid, 'SIGHUP')
    if (parsed['no-wait']) { io.stdout(`${PROGRAM}: SIGHUP sent to pid ${pid} for ${path.resolve(file)}\n`); return OK_EXIT }
    const after = await outcome(pid, before, timeoutMs)
    return report(io, pid, after, parsed.json)
  },
}

async function announcedPid (host: string, port: number, io: CliIo): Promise<number | undefined> {
  const holder = port === 0 ? undefined : await portAnnouncer(host, port)
  if (holder === undefined) {
    io.stderr(`${PROGRAM}: nothing announces ${host}:${port}; give --pid or --connection\n`)
    return undefined
  }
  return holder.pid
}

/** The status once the primary has finished a reload it started after `before` (undefined: timed out or gone). */
async function outcome (pid: number, before: ReloadStatus, timeoutMs: number): Promise<ReloadStatus | undefined> {
  const deadline = Date.now() + timeoutMs
  // A reload already running when SIGHUP arrived is followed by one more: wait for that one.
  const target = before.completed + (before.reloading ? 2 : 1)
  while (Date.now() <= deadline) {
    const status = await askReloadStatus(pid)
    // One answer missed (a process starved of CPU answers late) is not the end; a process gone is.
    if (status === undefined && !alive(pid)) return undefined
    if (status !== undefined && status.completed >= target && !status.reloading) return status
    await new Promise(resolve => setTimeout(resolve, POLL_MS))
  }
  return undefined
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function report (io: CliIo, pid: number, status: ReloadStatus | undefined, json: boolean): number {
  const last = status?.last
  const ok = last?.outcome === 'applied'
  if (json) {
    io.stdout(JSON.stringify({ pid, outcome: last?.outcome ?? 'unknown', inPlace: status?.inPlace, ...last }) + '\n')
  } else if (last === undefined) {
    io.stderr(`${PROGRAM}: no outcome from pid ${pid} in time; see its log\n`)
  } else if (ok && status?.inPlace === true) {
    io.stdout(`${PROGRAM}: applied in place: generation ${last.generation}, by the one serving process in ${last.durationMs} ms\n`)
  } else if (ok) {
    io.stdout(`${PROGRAM}: applied: generation ${last.generation}, ${last.replaced} serving process(es) replaced in ${last.durationMs} ms\n`)
  } else {
    io.stderr(`${PROGRAM}: ${last.outcome}; ${status?.inPlace === true ? 'the serving process keeps' : 'the serving processes keep'} generation ${last.generation}:\n  ${last.problems.join('\n  ')}\n`)
  }
  return ok ? OK_EXIT : FAILED_EXIT
}
