import fs from 'node:fs'
import path from 'node:path'
import { freePort } from '../../src/dev/free-port'
import { type ConnectionInfo, readConnection } from '../lib/connection-info'
import { start, type Tracked, waitForFile } from '../lib/procs'
import { proxyCli } from '../lib/repo'
import { prepareTemplates } from '../scenarios/prepare'
import type { Template } from '../loadgen/templates'
import type { Credentials } from '../sign'

/**
 * A proxy under fault: the dev CLI (its scripted contract: connection.json once every process serves) in a
 * provisioned directory shared by the scenarios, with the scenario's processes, Redis, environment overrides
 * (XKSGATE__...), extra node flags (a preload that injects the fault) and stdout either in a log file or on a
 * pipe the scenario reads, or stops reading.
 */

export interface ProxyOptions {
  processes?: number
  /** HSM backends (the dev CLI's --backends): that many SoftHSM tokens holding the same keys. */
  backends?: number
  redisUrl?: string
  env?: NodeJS.ProcessEnv
  nodeArgs?: string[]
  stdoutPipe?: boolean
}

/** What the steady load needs: where, as whom, and the requests (Decrypt ciphertexts made by that proxy). */
export interface LoadTarget {
  /** 127.0.0.1 unless given (the fleet's balancer in its namespace). */
  host?: string
  port: number
  creds: Credentials
  templates: Template[]
}

export interface FaultProxy extends LoadTarget {
  proc: Tracked
  info: ConnectionInfo & { port: number, creds: Credentials }
  /** The dev CLI's process: the primary with several processes, the serving process with one. */
  pid: number
  /** Its log (stdout, unless on a pipe, and stderr). */
  logFile: string
  /** The whole log so far. */
  log: () => string
}

export async function startFaultProxy (dir: string, name: string, o: ProxyOptions = {}): Promise<FaultProxy> {
  const port = await freePort()
  const logFile = path.join(path.dirname(dir), `${name}.log`)
  fs.rmSync(path.join(dir, 'connection.json'), { force: true })
  const args = [...(o.nodeArgs ?? []), proxyCli(undefined), '--dir', dir, '--port', String(port), '--metrics-port', '0',
    '--processes', String(o.processes ?? 1), '--backends', String(o.backends ?? 1), ...(o.redisUrl === undefined ? [] : ['--redis', o.redisUrl])]
  const proc = start(process.execPath, args, logFile, { env: { ...process.env, ...o.env } }, o.stdoutPipe)
  try {
    await waitForFile(proc, path.join(dir, 'connection.json'), 120_000)
    const info = readConnection(path.join(dir, 'connection.json'))
    const templates = await prepareTemplates(info.port, info.creds, info.uriPrefix, info.keys.encryptDecrypt)
    return { proc, info, port: info.port, creds: info.creds, templates, pid: proc.child.pid!, logFile, log: () => fs.readFileSync(logFile, 'utf8') }
  } catch (err) {
    await proc.stop()
    throw err
  }
}

/** Provisions the shared dev directory once (token, certificate, config), so each scenario starts in seconds. */
export async function provisionOnce (dir: string): Promise<void> {
  if (fs.existsSync(path.join(dir, 'config.json'))) return
  const proxy = await startFaultProxy(dir, 'provision')
  await proxy.proc.stop()
}

/** The dev directory's credentials, for a proxy started some other way than the dev CLI (PM2, the fleet). */
export function devCredentials (dir: string): Credentials {
  const read = (name: string): string => fs.readFileSync(path.join(dir, 'secrets', name), 'utf8').trim()
  return { accessKeyId: read('access-key-id'), secretAccessKey: read('secret-access-key'), region: 'us-east-1' }
}
