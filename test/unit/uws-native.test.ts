import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { UWS_BUILDS, loadNativeUwsBuild, type UwsBuild } from '../../src/server/uws-native'

const binaryName = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`

/** A package directory with a main file and, optionally, a file where this platform's binary would be. */
function fakePackage (t: Test, binary?: string): UwsBuild {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-fake-uws-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'fake-uws', version: '1.2.3', main: 'lib/uws.js' }))
  fs.mkdirSync(path.join(dir, 'lib'))
  fs.writeFileSync(path.join(dir, 'lib', 'uws.js'), 'throw new Error("the entry point is never loaded")\n')
  if (binary !== undefined) fs.writeFileSync(path.join(dir, binaryName), binary)
  return { packageName: dir, binariesDir: '.' }
}

t.test('this Node loads the build the support matrix names for its ABI, natively', async t => {
  const { uws, build } = loadNativeUwsBuild()
  // Node 20 is ABI 115; Node 22 and 24 (127, 137) have a binary only in the @btc-vision build.
  const expected = process.versions.modules === '115' ? '@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0' : '@btc-vision/uwebsockets.js@20.57.0'
  t.equal(build, expected)
  t.type(uws.SSLApp, 'function')
  t.equal(loadNativeUwsBuild().uws, uws, 'loaded once per process')
})

t.test('a build whose binary does not load is skipped for the next one, and said why when none loads', async t => {
  const broken = fakePackage(t, 'not an ELF file')
  const missing = fakePackage(t)
  const absent = { packageName: 'xksgate-no-such-uws-package', binariesDir: '.' }
  const loaded = loadNativeUwsBuild([broken, missing, ...UWS_BUILDS])
  t.match(loaded.build, /^@(trufflesuite|btc-vision)\//)
  t.throws(() => loadNativeUwsBuild([absent, missing, broken]), {
    message: new RegExp([
      '^the uWebSockets\\.js native binary cannot be loaded on this platform \\(',
      'xksgate-no-such-uws-package: not installed; ',
      `${missing.packageName}/${binaryName}: no such file \\(this build has no binary for Node ABI ${process.versions.modules}\\); `,
      `${broken.packageName}/${binaryName}: .*(invalid ELF header|too short)`,
      '\\)\\. xksgate needs Node 20 on glibc >= 2\\.36, or Node 22 or 24 on glibc >= 2\\.38',
    ].join('')),
  })
})
