/**
 * A directory provisioned as `npm run dev` does (src/dev/provision.ts), and `node dist/src/main.js …` run in a
 * child whose environment has no SOFTHSM2_CONF: provisioning sets it in the test process, and a child that
 * inherited it would find the token whether or not the configuration names it (hsm[].environment).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Test } from 'tap'
import { provisionDevEnvironment } from '../../src/dev/provision'
import { MAIN } from './main-process'

const { SOFTHSM2_CONF: _, ...withoutConf } = process.env
/** The test process's environment without SOFTHSM2_CONF. */
export const WITHOUT_SOFTHSM2_CONF: NodeJS.ProcessEnv = withoutConf

/** `xksgate ARGS` to its exit, without SOFTHSM2_CONF unless `env` says otherwise. */
export function xksgateWithoutConf (args: string[], env: NodeJS.ProcessEnv = WITHOUT_SOFTHSM2_CONF): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [MAIN, ...args], { env, encoding: 'utf8', timeout: 60_000 })
}

/** A fresh dev directory (one backend), removed at `t`'s teardown; checks the children really lack the variable. */
export async function provisionedDevDir (t: Test): Promise<{ dir: string, configFile: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-devenv-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  await provisionDevEnvironment(dir, 0)
  t.ok(process.env.SOFTHSM2_CONF, 'the test process has a SOFTHSM2_CONF (provisioning sets it)…')
  t.equal(WITHOUT_SOFTHSM2_CONF.SOFTHSM2_CONF, undefined, '…which the children\'s environment lacks')
  return { dir, configFile: path.join(dir, 'config.json') }
}
