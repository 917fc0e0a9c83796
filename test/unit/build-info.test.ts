import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { sourceCommit } from '../../src/metrics/build-info'
import { ProcessMetrics } from '../../src/metrics/process-metrics'
import { repoRoot } from '../helpers/paths'

const SHA_A = 'a'.repeat(40)
const SHA_B = 'b'.repeat(40)

function fakeCheckout (t: Test, files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-git-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    fs.writeFileSync(path.join(dir, name), text)
  }
  return dir
}

t.test('the commit of this checkout is what git says, without running git', async t => {
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim()
  t.equal(sourceCommit(repoRoot, {}), head)
  t.equal(sourceCommit(repoRoot, { XKSGATE_COMMIT: 'f00dfeed' }), 'f00dfeed', 'XKSGATE_COMMIT (a container image) wins')
})

t.test('detached HEAD, packed refs, a worktree, and no checkout at all', async t => {
  t.equal(sourceCommit(fakeCheckout(t, { '.git/HEAD': `${SHA_A}\n` }), {}), SHA_A)
  t.equal(sourceCommit(fakeCheckout(t, {
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.git/packed-refs': `# pack-refs with: peeled fully-peeled sorted\n${SHA_B} refs/heads/main-old\n${SHA_A} refs/heads/main\n`,
  }), {}), SHA_A)
  const worktree = fakeCheckout(t, {
    'common/worktrees/wt/HEAD': 'ref: refs/heads/topic\n',
    'common/worktrees/wt/commondir': '../..\n',
    'common/refs/heads/topic': `${SHA_B}\n`,
    'wt/.git': 'gitdir: ../common/worktrees/wt\n',
  })
  t.equal(sourceCommit(path.join(worktree, 'wt'), {}), SHA_B)
  t.equal(sourceCommit(fakeCheckout(t, {}), {}), 'unknown')
  t.equal(sourceCommit(fakeCheckout(t, { '.git/HEAD': 'ref: refs/heads/gone\n' }), {}), 'unknown')
})

t.test('xksgate_build_info is 1 with the build in its labels', async t => {
  const metrics = new ProcessMetrics()
  metrics.buildInfo({ version: '1.2.3', commit: SHA_A, node: 'v20.20.2', frontend: 'uws', uwsBuild: '@x/uws@20.1.0' })
  t.match(await metrics.registry.metrics(),
    new RegExp(`^xksgate_build_info\\{version="1\\.2\\.3",commit="${SHA_A}",node_version="v20\\.20\\.2",frontend="uws",uws_build="@x/uws@20\\.1\\.0"\\} 1$`, 'm'))
})
