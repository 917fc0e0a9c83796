/** IPC between the cluster primary and its serving processes (prom-client's own messages travel alongside). */
export interface ReadyMessage {
  type: 'xksgate:ready'
  port: number
}

export function isReadyMessage (message: unknown): message is ReadyMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'xksgate:ready'
}

/** Set on forked serving processes, so they never mistake PM2's cluster mode for ours. */
export const WORKER_ENV = 'XKSGATE_CLUSTER_WORKER'
/** The config file the worker loads (environment overrides are inherited with the rest of process.env). */
export const CONFIG_FILE_ENV = 'XKSGATE_CONFIG_FILE'
