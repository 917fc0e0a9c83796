/**
 * `npm run dev` and `npm start` as the README promises: SIGTERM to the npm process stops everything it started
 * (and removes connection.json). npm 11 forwards SIGTERM to its script's shell only, and a shell waiting on node
 * dies of it, leaving node serving; the scripts exec node, so the signal reaches the proxy itself.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { tokenConfig } from '../helpers/main-process'
import { repoRoot } from '../helpers/paths'
import { createTestToken } from '../helpers/softhsm'
import { until } from '../helpers/until'

/** The parent of a live process; undefined once it has exited (a zombie has exited, only unreaped). */
function liveParent (pid: number | string): number | undefined {
  let stat: string
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return state === 'Z' ? undefined : Number(ppid)
}

const alive = (pid: number): boolean => liveParent(pid) !== undefined

/** Live processes below `root`. */
function descendants (root: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of fs.readdirSync('/proc').filter(name => /^\d+$/.test(name))) {
    const ppid = liveParent(entry)
    if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
  }
  const found: number[] = []
  const walk = (pid: number): void => { for (const child of children.get(pid) ?? []) { found.push(child); walk(child) } }
  walk(root)
  return found
}

interface NpmRun {
  pid: number
  output: () => string
  /** Resolves to npm's exit code. */
  exited: Promise<number | null>
  hasExited: () => boolean
}

/** `npm ARGS` in the repository, stopped (with whatever it started) in teardown if the test does not. */
function npmRun (t: Test, args: string[], env: NodeJS.ProcessEnv = {}): NpmRun & { tree: number[] } {
  const npm = spawn('npm', args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  npm.stdout.on('data', (d: Buffer) => { output += d.toString() })
  npm.stderr.on('data', (d: Buffer) => { output += d.toString() })
  const exited = new Promise<number | null>(resolve => npm.once('exit', code => resolve(code)))
  const run = { pid: npm.pid ?? 0, output: () => output, exited, hasExited: () => npm.exitCode !== null || npm.signalCode !== null, tree: [] as number[] }
  // Whatever this test started and is still running (only after a failure), by pid.
  t.teardown(() => { for (const pid of [run.pid, ...run.tree].filter(alive)) process.kill(pid, 'SIGKILL') })
  return run
}

/** SIGTERM to npm alone; then npm must exit 0 and every process of `tree` be gone within the bound. */
async function stopNpm (t: Test, run: NpmRun, tree: number[]): Promise<void> {
  const signalled = Date.now()
  process.kill(run.pid, 'SIGTERM')
  t.equal(await run.exited, 0, 'npm exits 0: the proxy stopped cleanly', { output: run.output() })
  // An idle proxy stops at once (no drain), after shutdown.lingerMs; far below drainMs + lingerMs + 5 s.
  await until('every process of the tree has exited', () => !tree.some(alive), 16_000)
  t.ok(Date.now() - signalled < 16_000, 'within the shutdown bound')
}

const runs = (pid: number, script: string): boolean => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(script)

t.test('SIGTERM to `npm run dev` stops every process it started and removes connection.json', async t => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-npm-dev-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const connectionFile = path.join(dir, 'connection.json')
  const npm = npmRun(t, ['run', 'dev', '--', '--dir', dir, '--port', '0'])
  // npm runs the build first, then the proxy.
  await until('connection.json', () => fs.existsSync(connectionFile) || npm.hasExited(), 90_000)
  t.ok(fs.existsSync(connectionFile), 'the proxy is ready', { output: npm.output() })
  npm.tree = descendants(npm.pid)
  t.ok(npm.tree.some(pid => runs(pid, 'dev/cli.js')), 'the proxy is in npm\'s process tree', { tree: npm.tree })
  await stopNpm(t, npm, npm.tree)
  t.notOk(fs.existsSync(connectionFile), 'connection.json removed')
})

t.test('SIGTERM to `npm start` stops the proxy it started', async t => {
  const token = await createTestToken()
  t.teardown(token.cleanup)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-npm-start-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const { config, env, write } = tokenConfig(token, dir)
  const npm = npmRun(t, ['start', '--', '--config', write(config)], env)
  await until('the proxy is ready', () => npm.output().includes('"msg":"ready"') || npm.hasExited(), 30_000)
  npm.tree = descendants(npm.pid)
  t.ok(npm.tree.some(pid => runs(pid, 'src/main.js')), 'the proxy is in npm\'s process tree', { output: npm.output() })
  await stopNpm(t, npm, npm.tree)
})
