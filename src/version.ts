import fs from 'node:fs'
import path from 'node:path'

/** The checkout or install directory: compiled code lives in dist/src, two levels below package.json. */
export const PACKAGE_ROOT: string = path.join(__dirname, '..', '..')

/** The package version, read once. */
export const VERSION: string = (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version
