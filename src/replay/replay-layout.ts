import type { XksgateConfig } from '../config/schema'

/** Set by ecosystem.config.cjs: how many PM2 instances serve this host's port (each one process of its own). */
export const HOST_PROCESSES_ENV = 'XKSGATE_HOST_PROCESSES'

/** Serving processes on this host: the cluster's own, or the PM2 instances the ecosystem file starts. */
export function processesOnHost (clusterProcesses: number, env: NodeJS.ProcessEnv = process.env): number {
  const declared = Number(env[HOST_PROCESSES_ENV] ?? 1)
  return Math.max(clusterProcesses, Number.isInteger(declared) && declared > 0 ? declared : 1)
}

/**
 * Why this layout cannot keep its promise that a signature is accepted once per host, or undefined when it can.
 * Without Redis each process keeps its own replay cache, and the kernel spreads connections over the processes
 * that share the port, so a request replayed on a new connection may reach a sibling that never saw it (measured
 * on bb02617: one signed Encrypt sent on 8 connections to 2 processes was accepted twice). A layout that cannot
 * guarantee it refuses to start unless the operator opted out, knowing the risk.
 */
export function replayLayoutProblem (config: Pick<XksgateConfig, 'redis' | 'replay'>, processes: number): string | undefined {
  if (config.redis !== undefined || processes <= 1 || config.replay.allowProcessLocal) return undefined
  return `/redis: ${processes} serving processes share this host's port without Redis, so each keeps its own replay ` +
    'cache and a signed request replayed to a sibling process would be accepted. Configure "redis" (a redis-server ' +
    'on this host is enough for one host), run one serving process, or set /replay/allowProcessLocal to true to accept the risk.'
}
