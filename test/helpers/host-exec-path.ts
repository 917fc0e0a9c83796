/**
 * Preloaded (`node --require`) into a Node started through another C library's dynamic loader (test/helpers/
 * p11-kit.ts): there /proc/self/exe, and so process.execPath, is the loader, and a child started with
 * process.execPath (the dev server's SoftHSM setup, a cluster fork) would hand its script to the loader. The
 * loader passes the program it runs as argv[0]: that is Node's own path, and children run on this machine's C library.
 */
process.execPath = process.argv0
process.argv[0] = process.argv0
