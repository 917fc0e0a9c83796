/**
 * Loads a uWebSockets.js native binary directly. A package's own entry point may silently fall back to a slow
 * pure-JS implementation when its binary fails to load (@trufflesuite's does, printing only a warning); a
 * production proxy must refuse to start instead of quietly running at a fraction of its capacity.
 *
 * Two builds are installed, each shipping binaries for some Node ABIs (`process.versions.modules`). They are
 * tried in order and the first whose binary for this platform and ABI loads is used (docs/deployment/support-matrix.md "Support matrix"):
 * - `@trufflesuite/uws-js-unofficial` 20.30: Node 20 (ABI 115) only; its binary needs glibc 2.27 (tested on
 *   Debian 12, glibc 2.36). First, so Node 20 keeps the build every measurement in bench/ was made with.
 * - `@btc-vision/uwebsockets.js` 20.57: Node 20, 22, 24, 25 (ABIs 115, 127, 137, 141); needs glibc 2.38
 *   (Debian 13, Ubuntu 24.04, RHEL 10). Node 22 and 24 load only this one.
 */
import fs from 'node:fs'
import path from 'node:path'
import type * as Uws from '@trufflesuite/uws-js-unofficial'

export type UwsModule = typeof Uws

export interface UwsBuild {
  /** The npm package. */
  packageName: string
  /** Where its binaries are, relative to the package's directory. */
  binariesDir: string
}

export const UWS_BUILDS: readonly UwsBuild[] = [
  { packageName: '@trufflesuite/uws-js-unofficial', binariesDir: 'binaries' },
  { packageName: '@btc-vision/uwebsockets.js', binariesDir: '.' },
]

export interface LoadedUws {
  uws: UwsModule
  /** `package@version` of the build that loaded, for `xksgate_build_info`. */
  build: string
}

let loaded: LoadedUws | undefined

/** The first build whose binary loads here; the result is kept, since a process loads one build for its life. */
export function loadNativeUwsBuild (builds: readonly UwsBuild[] = UWS_BUILDS): LoadedUws {
  if (loaded !== undefined && builds === UWS_BUILDS) return loaded
  const tried: string[] = []
  for (const build of builds) {
    const attempt = tryBuild(build)
    if (typeof attempt === 'string') {
      tried.push(attempt)
      continue
    }
    if (builds === UWS_BUILDS) loaded = attempt
    return attempt
  }
  throw new Error(`the uWebSockets.js native binary cannot be loaded on this platform (${tried.join('; ')}). ` +
    'xksgate needs Node 20 on glibc >= 2.36, or Node 22 or 24 on glibc >= 2.38 (x64 or arm64); it does not run on the slow JS fallback.')
}

export function loadNativeUws (): UwsModule {
  return loadNativeUwsBuild().uws
}

/** The loaded build, or a string saying why it did not load. */
function tryBuild (build: UwsBuild): LoadedUws | string {
  const packageDir = findPackageDir(build.packageName)
  if (packageDir === undefined) return `${build.packageName}: not installed`
  const binary = path.join(packageDir, build.binariesDir, `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`)
  if (!fs.existsSync(binary)) return `${binary}: no such file (this build has no binary for Node ABI ${process.versions.modules})`
  try {
    const uws = require(binary) as UwsModule
    return { uws, build: `${build.packageName}@${packageVersion(packageDir)}` }
  } catch (err) {
    return `${binary}: ${(err as Error).message.split('\n')[0]}`
  }
}

/**
 * Up from the package's main file to its package.json: `require.resolve('…/package.json')` fails for
 * @btc-vision, whose `exports` does not list it.
 */
function findPackageDir (packageName: string): string | undefined {
  let dir: string
  try {
    dir = path.dirname(require.resolve(packageName))
  } catch {
    return undefined
  }
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir)
  return dir
}

function packageVersion (packageDir: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string }
  return manifest.version
}
