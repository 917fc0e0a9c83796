/**
 * deploy/bootstrap.js, the first step of `npm run dev` and `npm test` on a fresh clone: when it reinstalls
 * node_modules, which Debian packages it finds missing, and that CI installs the same packages.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { repoRoot } from '../helpers/paths'

interface Bootstrap {
  PROGRAMS: Record<'dev' | 'test' | 'npmCi', Record<string, string>>
  BUILT_MARKER: string
  buildIsCurrent: (root: string) => boolean
  missingPackages: (programs: Record<string, string>, searchPath?: string) => string[]
  staleNodeModules: (root: string) => string | undefined
}
// Plain JavaScript with Node's built-ins only: it runs before npm ci and tsc.
const bootstrap = require(path.join(repoRoot, 'deploy', 'bootstrap.js')) as Bootstrap

t.test('npm ci runs when node_modules is absent or older than package-lock.json', async t => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-bootstrap-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  const lock = path.join(root, 'package-lock.json')
  const installed = path.join(root, 'node_modules', '.package-lock.json')
  fs.writeFileSync(lock, '{}')
  t.equal(bootstrap.staleNodeModules(root), 'node_modules is missing')
  fs.mkdirSync(path.dirname(installed))
  fs.writeFileSync(installed, '{}')
  fs.utimesSync(lock, new Date(2_000_000_000_000), new Date(2_000_000_000_000))
  fs.utimesSync(installed, new Date(1_000_000_000_000), new Date(1_000_000_000_000))
  t.equal(bootstrap.staleNodeModules(root), 'node_modules is older than package-lock.json')
  fs.utimesSync(installed, new Date(2_000_000_001_000), new Date(2_000_000_001_000))
  t.equal(bootstrap.staleNodeModules(root), undefined)
})

t.test('the build is skipped only when the last one succeeded and no input changed, renames included', async t => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-build-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  const at = (file: string, seconds: number): void => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true })
    if (!fs.existsSync(path.join(root, file))) fs.writeFileSync(path.join(root, file), '')
    fs.utimesSync(path.join(root, file), seconds, seconds)
  }
  at('src/a.ts', 1000)
  at('src', 1000)
  at('tsconfig.json', 1000)
  at('dist/src/main.js', 1500)
  t.notOk(bootstrap.buildIsCurrent(root), 'no successful build recorded')
  at(bootstrap.BUILT_MARKER, 2000)
  t.ok(bootstrap.buildIsCurrent(root))
  at('src/a.ts', 2500)
  t.notOk(bootstrap.buildIsCurrent(root), 'a source edited since')
  at('src/a.ts', 1000)
  fs.renameSync(path.join(root, 'src/a.ts'), path.join(root, 'src/b.ts'))
  t.notOk(bootstrap.buildIsCurrent(root), 'a source renamed since (its directory changed)')
  at('src', 1000)
  t.ok(bootstrap.buildIsCurrent(root))
  fs.rmSync(path.join(root, 'dist/src/main.js'))
  t.notOk(bootstrap.buildIsCurrent(root), 'the build output is gone')
})

t.test('missing Debian packages are found by their programs on PATH', async t => {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-bin-'))
  t.teardown(() => fs.rmSync(bin, { recursive: true, force: true }))
  fs.writeFileSync(path.join(bin, 'openssl'), '')
  const nothing = path.join(bin, 'no-such-dir')
  t.same(bootstrap.missingPackages({ openssl: 'openssl', 'softhsm2-util': 'softhsm2', 'redis-server': 'redis-server' }, `${nothing}:${bin}`), ['softhsm2', 'redis-server'])
  t.same(bootstrap.missingPackages({ 'g++': 'g++', make: 'make' }, bin), ['g++', 'make'])
})

t.test('.ci/run installs every package the bootstrap would install for npm test', async t => {
  const ciRun = fs.readFileSync(path.join(repoRoot, '.ci', 'run'), 'utf8')
  const listed = /^apt_packages=\(([^)]*)\)$/m.exec(ciRun)?.[1].split(/\s+/) ?? []
  const needed = [...new Set([...Object.values(bootstrap.PROGRAMS.test), ...Object.values(bootstrap.PROGRAMS.npmCi)])]
  t.ok(needed.includes('prometheus'), 'promtool comes with prometheus')
  t.same([...listed].sort(), [...needed].sort())
  t.match(ciRun, /^npm test 2>&1/m, 'CI runs the README\'s test command')
})

t.test('an unknown purpose is a usage error', async t => {
  const result = spawnSync(process.execPath, [path.join(repoRoot, 'deploy', 'bootstrap.js'), 'deploy'], { encoding: 'utf8', timeout: 10_000 })
  t.equal(result.status, 2)
  t.equal(result.stderr, 'xksgate: usage: node deploy/bootstrap.js dev|test\n')
})
