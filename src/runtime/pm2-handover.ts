/**
 * Under PM2, `pm2 reload <name>` restarts the fork-mode instances one after the other (stop, then start) and runs
 * nothing of ours before it stops one; `pm2 reload ecosystem.config.cjs` checks the file first (the ecosystem
 * file does), but the reload by name does not. So that a reload by name with an invalid file still leaves the app
 * serving on the configuration it had, every ready instance offers the configuration it validated to the other
 * instances of its app, and an instance whose file is refused at start takes it from a sibling instead of exiting
 * (it says so at error level, with every problem named), with its own metrics port (the one field in which the
 * instances of one app differ: PM2's increment_var in ecosystem.config.cjs).
 *
 * The offer is a Unix socket in `$PM2_HOME/xksgate-handover/` (mode 0700): only the user PM2 runs as (who can
 * read the configuration and drive PM2 anyway) can connect. The configuration travels in the wire form of
 * src/cluster/config-wire.ts, secrets and TLS bytes included, and is never written to disk.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fromWire, type WireConfig } from '../cluster/config-wire'
import type { TlsMaterial } from '../cluster/tls-material'
import { applyEnvOverrides } from '../config/env-overrides'
import { ConfigError, loadConfig } from '../config/load'
import type { XksgateConfig } from '../config/schema'
import type { Logger } from '../log'
import { readAnswer, serveAnswer } from './unix-answer'

export interface Pm2Instance {
  dir: string
  /** File names of this app's sockets start with it: one app, one config file. */
  fleet: string
  own: string
}

/** The environment overrides that differ between the instances of one app (ecosystem.config.cjs). */
const PER_INSTANCE = ['XKSGATE__metrics__port']

/** This process as a PM2 instance (PM2 exports `name`, `pm_id` and `PM2_HOME`), or undefined outside PM2. */
export function pm2Instance (configFile: string, env: NodeJS.ProcessEnv = process.env): Pm2Instance | undefined {
  if (env.pm_id === undefined || env.name === undefined) return undefined
  const dir = path.join(env.PM2_HOME ?? path.join(os.homedir(), '.pm2'), 'xksgate-handover')
  const fleet = crypto.createHash('sha256').update(JSON.stringify([env.name, configFile])).digest('hex').slice(0, 16)
  return { dir, fleet, own: path.join(dir, `${fleet}-${env.pm_id}.sock`) }
}

/** Offers `wire` to the app's other instances until close(). */
export async function offerConfig (instance: Pm2Instance, wire: WireConfig): Promise<{ close: () => void }> {
  fs.mkdirSync(instance.dir, { recursive: true, mode: 0o700 })
  fs.chmodSync(instance.dir, 0o700)
  // A socket file left by this instance's previous process (its pm_id is reused across restarts).
  fs.rmSync(instance.own, { force: true })
  return await serveAnswer(instance.own, () => wire)
}

/** The configuration a sibling instance validated, from the first that answers; undefined when none does. */
export async function inheritConfig (instance: Pm2Instance): Promise<{ wire: WireConfig, from: string } | undefined> {
  let names: string[]
  try {
    names = fs.readdirSync(instance.dir)
  } catch {
    return undefined
  }
  for (const name of names.filter(n => n.startsWith(`${instance.fleet}-`) && path.join(instance.dir, n) !== instance.own)) {
    const wire = await readAnswer(path.join(instance.dir, name)) as WireConfig | undefined
    if (wire !== undefined) return { wire, from: name }
  }
  return undefined
}

/**
 * The configuration a PM2 instance starts from: its file when that passes, else (under PM2 only) the one a running
 * sibling validated. Outside PM2, or with no sibling to ask, the refusal stands and the start fails as usual.
 */
export async function loadOrInherit (configFile: string, log: Logger): Promise<{ config: XksgateConfig, tls?: TlsMaterial }> {
  try {
    return { config: loadConfig({ file: configFile }) }
  } catch (err) {
    const instance = err instanceof ConfigError ? pm2Instance(configFile) : undefined
    const inherited = instance === undefined ? undefined : await inheritConfig(instance)
    if (inherited === undefined) throw err
    log.error({ configFile, problems: (err as ConfigError).problems, from: inherited.from },
      'configuration refused; serving the configuration a running instance of this PM2 app validated. Fix the file, then pm2 reload ecosystem.config.cjs')
    const own = Object.fromEntries(PER_INSTANCE.filter(name => process.env[name] !== undefined).map(name => [name, process.env[name]]))
    return fromWire({ ...inherited.wire, config: applyEnvOverrides(inherited.wire.config, own) })
  }
}
