/**
 * IPC between the cluster primary and its serving processes (prom-client's own messages travel alongside):
 * the process asks for its configuration, the primary answers with the validated one (config-wire.ts), and the
 * process reports that it serves, or why it could not start.
 */
import type { WireConfig } from './config-wire'

export interface ConfigRequest { type: 'xksgate:config-request' }
export interface ConfigMessage { type: 'xksgate:config', wire: WireConfig }
export interface ReadyMessage { type: 'xksgate:ready', port: number }
export interface StartFailedMessage { type: 'xksgate:start-failed', reason: string }

type Message = ConfigRequest | ConfigMessage | ReadyMessage | StartFailedMessage

export function isMessage<T extends Message['type']> (message: unknown, type: T): message is Extract<Message, { type: T }> {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type
}

/** Set on forked serving processes, so they never mistake PM2's cluster mode for ours. */
export const WORKER_ENV = 'XKSGATE_CLUSTER_WORKER'
