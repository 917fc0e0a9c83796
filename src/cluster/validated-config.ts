/**
 * A configuration the primary may hand to serving processes: the file passed every startup check (loadConfig),
 * its layout keeps the replay promise, its certificate and key were read as one matching pair, and — on a reload —
 * it changes nothing that only a restart can change. (An expired or incomplete certificate chain is already a
 * loadConfig error: src/tls/certificate-health.ts.) Each refusal names the field, as every config error does.
 */
import { ConfigError, loadConfig } from '../config/load'
import type { XksgateConfig } from '../config/schema'
import { processesOnHost, replayLayoutProblem } from '../replay/replay-layout'
import { readTlsMaterial, type TlsMaterial } from './tls-material'

export interface ValidatedConfig {
  config: XksgateConfig
  tls: TlsMaterial
}

/**
 * Bound once per primary: the ports are claimed for this fleet and the metrics port is open before any reload,
 * and the number of processes is what the replay layout was checked against.
 */
const RESTART_ONLY: ReadonlyArray<[string, (c: XksgateConfig) => unknown]> = [
  ['/server/host', c => c.server.host],
  ['/server/port', c => c.server.port],
  ['/healthPort/host', c => c.healthPort.host],
  ['/healthPort/port', c => c.healthPort.port],
  ['/metrics/host', c => c.metrics.host],
  ['/metrics/port', c => c.metrics.port],
  ['/cluster/processes', c => c.cluster.processes],
]

/** The fields only a restart changes, as JSON Pointers (the configuration reference marks them). */
export const RESTART_ONLY_FIELDS: readonly string[] = RESTART_ONLY.map(([field]) => field)

export function validateForCluster (config: XksgateConfig, processes: number): ValidatedConfig {
  const problem = replayLayoutProblem(config, processesOnHost(processes))
  if (problem !== undefined) throw new ConfigError([problem])
  return { config, tls: readTlsMaterial(config) }
}

/** Loads `file` as a replacement for `running`; throws ConfigError naming every field that is wrong. */
export function loadReplacement (file: string, running: XksgateConfig, processes: number): ValidatedConfig {
  const next = loadConfig({ file })
  const problems = RESTART_ONLY
    .filter(([, read]) => JSON.stringify(read(next)) !== JSON.stringify(read(running)))
    .map(([field, read]) => `${field}: changed from ${JSON.stringify(read(running))} to ${JSON.stringify(read(next))}, which takes a restart, not a reload`)
  if (problems.length > 0) throw new ConfigError(problems)
  return validateForCluster(next, processes)
}
