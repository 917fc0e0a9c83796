import fs from 'node:fs'
import path from 'node:path'

/** The repository root: the nearest folder above this file that holds package.json (works from any build dir). */
export const repoRoot = ((): string => {
  let dir = __dirname
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error('package.json not found above ' + __dirname)
    dir = parent
  }
  return dir
})()

export const vectorPath = (name: string): string => path.join(repoRoot, 'test', 'vectors', name)
