import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
// The test helper already finds the repository root from any build directory; the bench builds alongside it.
import { repoRoot } from '../../test/helpers/paths'

/** The dev CLI of the proxy under test: --proxy-cli, or dist/src/dev/cli.js, built first if missing. */
export function proxyCli (explicit: string | undefined): string {
  if (explicit !== undefined) return path.resolve(explicit)
  const cli = path.join(repoRoot, 'dist', 'src', 'dev', 'cli.js')
  if (!fs.existsSync(cli)) {
    console.log('  (building the proxy: npm run build)')
    // tsc emits even when some file has type errors; what matters is whether the CLI exists afterwards.
    try { execFileSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'ignore' }) } catch {}
  }
  if (!fs.existsSync(cli)) throw new Error(`proxy CLI not found at ${cli} (build failed?); pass --proxy-cli`)
  return cli
}
