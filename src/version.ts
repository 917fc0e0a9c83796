import fs from 'node:fs'
import path from 'node:path'

/** The package version, read once; compiled code lives in dist/src, two levels below package.json. */
export const VERSION: string = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version
