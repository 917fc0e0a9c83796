import fs from 'node:fs'

/**
 * The contents of a file the configuration names (a secret, the TLS key and certificate, a CA bundle), or what is
 * wrong (an errno code, or "not a regular file") for a message naming the field. Only a regular file's contents (symbolic links followed, as Kubernetes' secret volumes need). Anything else is
 * refused before a byte is read: a directory, and above all a FIFO or a device, where a plain read would wait
 * for a writer for ever or never reach an end (/dev/zero). O_NONBLOCK makes opening a FIFO return at once; it
 * changes nothing for a regular file.
 */
export function readRegularFile (file: string): string | { problem: string } {
  let fd: number
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
  } catch (err) {
    return { problem: (err as NodeJS.ErrnoException).code ?? 'error' }
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return { problem: 'not a regular file' }
    return fs.readFileSync(fd, 'utf8')
  } catch (err) {
    return { problem: (err as NodeJS.ErrnoException).code ?? 'error' }
  } finally {
    fs.closeSync(fd)
  }
}
