/**
 * The Dockerfile and compose.yaml as files: their build follows .ci/run's steps, the image runs as a non-root user
 * behind an init, checks its health with `xksgate ready`, a build without --target gives the production image, and
 * the compose trial builds a stage the Dockerfile has. `npm run test:container` builds and runs the image (podman).
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { repoRoot } from '../helpers/paths'

const dockerfile = fs.readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8')
const compose = fs.readFileSync(path.join(repoRoot, 'compose.yaml'), 'utf8')
const ciRun = fs.readFileSync(path.join(repoRoot, '.ci', 'run'), 'utf8')
/** Each stage's instructions, by stage name. */
const stages = new Map<string, string[]>()
let current = ''
for (const line of dockerfile.replace(/\\\n\s*/g, ' ').split('\n').filter(l => l !== '' && !l.startsWith('#'))) {
  const from = /^FROM \S+(?: AS (\S+))?$/.exec(line)
  if (from !== null) stages.set(current = from[1] ?? '', [])
  else stages.get(current)?.push(line)
}
const lastUser = (stage: string): string | undefined => stages.get(stage)?.filter(l => l.startsWith('USER ')).at(-1)

t.test('the build stage runs .ci/run\'s steps: its Debian packages, npm ci, npm run build', async t => {
  const build = (stages.get('build') ?? []).join('\n')
  const ciPackages = /^apt_packages=\(([^)]*)\)$/m.exec(ciRun)?.[1].split(/\s+/) ?? []
  const installed = /apt-get install [^&]*--no-install-recommends ([^&]+)&&/.exec(build)?.[1].trim().split(/\s+/) ?? []
  t.ok(installed.length > 0 && installed.every(p => ciPackages.includes(p)), `build packages ${installed.join(' ')} are CI's`)
  t.match(build, /^RUN npm ci --no-audit --no-fund$/m)
  t.match(build, /^RUN npm run build && npm prune --omit=dev/m)
})

t.test('runtime: non-root, tini as PID 1, HEALTHCHECK by xksgate ready, the commit for xksgate_build_info', async t => {
  t.same([...stages.keys()], ['build', 'runtime', 'softhsm', 'production'])
  t.equal(lastUser('runtime'), 'USER xksgate')
  t.equal(lastUser('softhsm'), 'USER xksgate', 'the trial stage drops root again')
  const runtime = (stages.get('runtime') ?? []).join('\n')
  t.match(runtime, /^HEALTHCHECK .* CMD \["node", "dist\/src\/main\.js", "ready"\]$/m)
  t.match(runtime, /^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "dist\/src\/main\.js"\]$/m)
  t.match(runtime, /ENV XKSGATE_COMMIT=\$\{XKSGATE_COMMIT\}/)
})

t.test('a build without --target gives the production image: the last stage is runtime unchanged, no SoftHSM', async t => {
  const froms = dockerfile.split('\n').filter(l => l.startsWith('FROM '))
  t.equal(froms.at(-1), 'FROM runtime AS production', 'the last stage, which docker build and podman build give by default')
  t.same(stages.get('production'), [], 'it adds nothing to runtime')
  t.notMatch((stages.get('runtime') ?? []).join('\n'), /softhsm/i, 'runtime installs no SoftHSM')
})

t.test('compose: the trial builds the softhsm stage, with Redis, the health port and a grace period', async t => {
  t.match(compose, /^ {6}target: softhsm$/m)
  t.match(compose, /--redis", "redis:\/\/redis:6379"/)
  t.match(compose, /XKSGATE__healthPort__port: "9100"/)
  t.match(compose, /stop_grace_period: 20s/)
})
