/**
 * The command lines of both entry points: --help, --version, --check, and one-line errors (exit 2) for anything
 * they do not understand, instead of parseArgs' ERR_PARSE_ARGS_* stack trace.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { configFixture } from '../helpers/config-fixture'
import { MAIN, logLines } from '../helpers/main-process'
import { repoRoot } from '../helpers/paths'

const DEV_CLI = path.join(path.dirname(MAIN), 'dev', 'cli.js')
const VERSION = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version

function run (script: string, args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null, stdout: string, stderr: string } {
  const { XKSGATE_CONFIG: _inherited, ...inherited } = process.env
  const result = spawnSync(process.execPath, [script, ...args], { env: { ...inherited, ...env }, encoding: 'utf8', timeout: 30_000 })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

t.test('--help and --version answer on stdout and exit 0', async t => {
  const help = run(MAIN, ['--help'])
  t.equal(help.status, 0)
  t.match(help.stdout, /^usage: xksgate --config FILE \[--check\]$/m)
  for (const flag of ['--config FILE', '--check', '--version', '--help']) t.match(help.stdout, `  ${flag}`, `documents ${flag}`)
  t.match(help.stdout, /^ {2}config {7}config check: /m, 'lists the subcommands')
  t.equal(help.stderr, '')
  t.same(run(MAIN, ['--version']), { status: 0, stdout: `xksgate ${VERSION}\n`, stderr: '' })
  const devHelp = run(DEV_CLI, ['--help'])
  t.equal(devHelp.status, 0)
  t.match(devHelp.stdout, /^usage: npm run dev -- /)
})

t.test('a command line either entry point does not understand is one line on stderr and exit 2', async t => {
  const cases: Array<[string, string[], string]> = [
    [MAIN, ['--bogus'], "xksgate: Unknown option '--bogus' (see xksgate --help)\n"],
    [MAIN, ['--config'], "xksgate: Option '--config <value>' argument missing (see xksgate --help)\n"],
    [MAIN, ['--config', 'a.json', 'stray'], "xksgate: Unexpected argument 'stray' (see xksgate --help)\n"],
    [MAIN, [], 'xksgate: no configuration: give --config FILE or set XKSGATE_CONFIG (see xksgate --help)\n'],
    [DEV_CLI, ['--bogus'], "xksgate dev: Unknown option '--bogus' (see xksgate dev --help)\n"],
    [DEV_CLI, ['--port', 'eighty'], 'xksgate dev: --port must be 0-65535, got eighty (see xksgate dev --help)\n'],
    [DEV_CLI, ['--processes', '0'], 'xksgate dev: --processes must be 1-64, got 0 (see xksgate dev --help)\n'],
  ]
  for (const [script, args, stderr] of cases) {
    t.same(run(script, args), { status: 2, stdout: '', stderr }, `${path.basename(script)} ${args.join(' ')}`)
  }
})

t.test('--check validates the file without starting anything', async t => {
  const f = configFixture()
  t.teardown(f.cleanup)
  const file = path.join(f.dir, 'config.json')
  // The fixture names a token no HSM has: a start would fail, a check of the file must not.
  fs.writeFileSync(file, JSON.stringify(f.config))
  t.same(run(MAIN, ['--check', '--config', file], f.env), { status: 0, stdout: `xksgate: ${file} is valid (1 key store(s), 1 key(s))\n`, stderr: '' })
  t.equal(run(MAIN, ['--check'], { ...f.env, XKSGATE_CONFIG: file }).status, 0, 'XKSGATE_CONFIG names the file too')

  fs.writeFileSync(file, JSON.stringify({ ...f.config, health: { keyLabel: 'foo' } }))
  const invalid = run(MAIN, ['--check', '--config', file], f.env)
  t.equal(invalid.status, 2)
  t.match(invalid.stderr, /^xksgate: invalid configuration:\n {2}\/health\/keyLabel: "foo" is also the customer key/)
  t.equal(invalid.stdout, '', 'a verdict, not a log line')

  const subcommand = run(MAIN, ['config', 'check', '--config', file], f.env)
  t.same(subcommand, invalid, '`xksgate config check` is the same check with the same verdict')
  t.same(run(MAIN, ['config', 'lint'], f.env), { status: 2, stdout: '', stderr: "xksgate config: unknown subcommand 'lint' (see xksgate config --help)\n" })
  t.same(run(MAIN, ['config', 'check', '--bogus'], f.env), { status: 2, stdout: '', stderr: "xksgate config check: Unknown option '--bogus' (see xksgate config check --help)\n" })
  t.match(run(MAIN, ['config', 'check', '--help']).stdout, /^usage: xksgate config check/)
})

t.test('a configuration error at startup is one fatal JSON line and the problems on stderr, exit 2', async t => {
  const f = configFixture()
  t.teardown(f.cleanup)
  const file = path.join(f.dir, 'config.json')
  fs.writeFileSync(file, JSON.stringify({ ...f.config, server: { ...f.config.server, port: 70000 } }))
  const result = run(MAIN, ['--config', file], f.env)
  t.equal(result.status, 2)
  t.match(result.stderr, /^xksgate: invalid configuration:\n {2}\/server\/port: /)
  t.notMatch(result.stderr, /^\s+at \S/m, 'no stack trace')
  t.match(logLines(result.stdout), [{ level: 60, worker: 0, msg: 'startup failed: invalid configuration', problems: [/^\/server\/port: /] }])
})
