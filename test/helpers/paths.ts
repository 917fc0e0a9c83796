import path from 'node:path'

/** Repository root, whether this file runs from `test/helpers` or from `dist/test/helpers`. */
export const repoRoot = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..')

export const vectorPath = (name: string): string => path.join(repoRoot, 'test', 'vectors', name)
