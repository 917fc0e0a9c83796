/**
 * What is running, for `xksgate_build_info` (value 1, the facts in its labels): the package version, the source
 * commit, the Node version and the frontend with its uWebSockets.js build. A dashboard or an alert can then tell
 * which hosts of a fleet run which build, the way Prometheus' own `prometheus_build_info` does.
 */
import fs from 'node:fs'
import path from 'node:path'

export interface BuildInfo {
  version: string
  commit: string
  node: string
  frontend: string
  /** `package@version` of the uWebSockets.js build that loaded (src/server/uws-native.ts). */
  uwsBuild: string
}

/**
 * The commit the code was built from: `XKSGATE_COMMIT` when set (a container image has no .git: the Dockerfile
 * passes it as a build argument), else read from the checkout's `.git` without running git (it may not be
 * installed), else "unknown".
 */
export function sourceCommit (repoRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.XKSGATE_COMMIT
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  try {
    return readGitHead(repoRoot) ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

const SHA = /^[0-9a-f]{40}$/

/** HEAD of a checkout or worktree: a detached SHA, or a branch resolved through its ref file or packed-refs. */
function readGitHead (repoRoot: string): string | undefined {
  let gitDir = path.join(repoRoot, '.git')
  if (fs.statSync(gitDir).isFile()) {
    // A worktree: `.git` is a file naming its own git directory, which names the shared one in `commondir`.
    gitDir = path.resolve(repoRoot, fs.readFileSync(gitDir, 'utf8').replace(/^gitdir: /, '').trim())
  }
  const commonFile = path.join(gitDir, 'commondir')
  const commonDir = fs.existsSync(commonFile) ? path.resolve(gitDir, fs.readFileSync(commonFile, 'utf8').trim()) : gitDir
  const head = fs.readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim()
  if (SHA.test(head)) return head
  const ref = head.replace(/^ref: /, '')
  for (const dir of [gitDir, commonDir]) {
    const file = path.join(dir, ref)
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim()
  }
  const packed = path.join(commonDir, 'packed-refs')
  if (!fs.existsSync(packed)) return undefined
  const line = fs.readFileSync(packed, 'utf8').split('\n').find(l => l.endsWith(` ${ref}`))
  return line?.split(' ')[0]
}
