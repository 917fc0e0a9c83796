/**
 * Loads the uWebSockets.js native binary directly. The package's own entry point silently falls back to a slow
 * pure-JS implementation when the binary fails to load (it prints only a warning; seen on Debian 12 with the
 * newer builds that need glibc 2.38); a production proxy must refuse to start instead of quietly running at a
 * fraction of its capacity.
 */
import path from 'node:path'
import type * as Uws from '@trufflesuite/uws-js-unofficial'

export type UwsModule = typeof Uws

export function loadNativeUws (): UwsModule {
  const packageDir = path.dirname(require.resolve('@trufflesuite/uws-js-unofficial/package.json'))
  const binary = path.join(packageDir, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`)
  try {
    return require(binary) as UwsModule
  } catch (err) {
    throw new Error(`the uWebSockets.js native binary cannot be loaded on this platform (${binary}): ${(err as Error).message}. ` +
      'xksgate needs Node 20 on glibc >= 2.36 (x64 or arm64); it does not run on the slow JS fallback.')
  }
}
