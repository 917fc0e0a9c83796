import type { Scenario } from '../scenario'
import { clockAhead, clockBehind } from './clock-step'
import { hsmBackendFail } from './hsm-backend-fail'
import { hsmThreadKill } from './hsm-thread-kill'
import { pm2Reload } from './pm2-reload'
import { primaryReloadApplied, primaryReloadRefused } from './primary-reload'
import { redisKillFailClosed, redisKillFailOpen } from './redis-kill'
import { servingProcessKill } from './serving-process-kill'
import { stdoutBlocked } from './stdout-blocked'

/** Every fault scenario, in the order `npm run reliability` runs them. */
export const SCENARIOS: Scenario[] = [
  servingProcessKill,
  hsmThreadKill,
  hsmBackendFail,
  redisKillFailOpen,
  redisKillFailClosed,
  pm2Reload,
  primaryReloadApplied,
  primaryReloadRefused,
  stdoutBlocked,
  clockAhead,
  clockBehind,
]
