/**
 * PM2: `pm2 start ecosystem.config.cjs`, `pm2 reload xksgate` (zero-downtime), `pm2 stop xksgate`.
 *
 * Several instances, each one serving process (cluster.processes = 1). The PM2 mode follows the configured
 * frontend (server.frontend in XKSGATE_CONFIG, or XKSGATE__server__frontend):
 * - uws (default): fork mode. Each instance binds the TLS port itself with SO_REUSEPORT; PM2's cluster mode does
 *   not fit, it shares sockets through Node's net module, which uWS does not use (docs/operations.md "PM2").
 * - node: cluster mode. Node 20's net has no SO_REUSEPORT, so a second instance binding the port itself fails
 *   with EADDRINUSE; in cluster mode PM2's primary holds the listening socket and hands it to every instance.
 * In fork mode `pm2 reload` restarts the instances one after
 * the other (stop, then start): the other instances keep the port open meanwhile, so at least 2 instances are
 * needed, and no more than instances - 1 may restart at once (PM2_CONCURRENT_ACTIONS, or `--parallel 1`).
 * The instances of one app name with one config file are one fleet: they share the port, anything else on it is
 * refused at startup (src/server/port-ownership.ts).
 *
 * Reload with `pm2 reload ecosystem.config.cjs`: PM2 evaluates this file first, and it validates the configuration
 * and logs in to every HSM backend to find every configured key (`xksgate config check --hsm`) before PM2 touches
 * any instance; an invalid file, a wrong PIN or a missing key makes PM2 print the problems, each naming its field,
 * and stop there (without --hsm, a file that validates but cannot start would crash-loop every instance). A reload by name (`pm2 reload xksgate`) skips this file: then each restarted
 * instance whose file is refused serves the configuration its running sibling validated (src/runtime/pm2-handover.ts).
 */
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const instances = Number(process.env.XKSGATE_PM2_INSTANCES ?? 2)
const script = `${process.env.XKSGATE_DIST ?? 'dist'}/src/main.js`
const configFile = process.env.XKSGATE_CONFIG ?? '/etc/xksgate/config.json'
const env = {
  XKSGATE__cluster__processes: '1',
  // The instances share the port: without Redis they could not see each other's signatures (docs/operations.md "Redis: replay cache and fleet size").
  XKSGATE_HOST_PROCESSES: String(instances),
  // Each instance serves its own metrics: 9464, 9465, … (PM2 adds the instance number).
  XKSGATE__metrics__port: process.env.XKSGATE__metrics__port ?? '9464',
}

// The PM2 commands that start instances from this file; stop and delete must work whatever the file holds.
if (['start', 'reload', 'restart', 'startOrReload', 'startOrRestart', 'startOrGracefulReload'].includes(process.argv[2])) {
  try {
    execFileSync(process.execPath, [path.join(__dirname, script), 'config', 'check', '--hsm', '--config', configFile],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 })
  } catch (err) {
    throw new Error(`not ${process.argv[2] === 'start' ? 'started' : 'reloaded'}, every instance keeps running as it is: ${String(err.stderr ?? err.message).trim()}`)
  }
}

/** server.frontend as main.js will see it: the environment override first, then the file, then the default. */
function configuredFrontend () {
  const override = process.env.XKSGATE__server__frontend
  if (override !== undefined) return override.replace(/^"|"$/g, '')
  try {
    return JSON.parse(fs.readFileSync(configFile, 'utf8')).server?.frontend ?? 'uws'
  } catch {
    // main.js reports an unreadable or invalid file itself, naming the field.
    return 'uws'
  }
}

module.exports = {
  apps: [{
    name: process.env.XKSGATE_PM2_NAME ?? 'xksgate',
    // XKSGATE_DIST: another build directory (tests use it for a private tsc --outDir).
    script,
    cwd: __dirname,
    args: ['--config', configFile],
    exec_mode: configuredFrontend() === 'node' ? 'cluster' : 'fork',
    instances,
    // Started only once main.js sends 'ready' (every session open, listening), within listen_timeout.
    wait_ready: true,
    listen_timeout: 30000,
    // PM2 stops an instance with SIGINT (per daemon, PM2_KILL_SIGNAL; there is no per-app option), which the proxy
    // treats as SIGTERM: the graceful stop. Then PM2 waits this long before SIGKILL: keep it above
    // shutdown.graceMs + drainMs + lingerMs.
    kill_timeout: 15000,
    // Exit 2 is a configuration the proxy refuses, a wrong HSM PIN among them: restarting cannot help, and each
    // start would spend a PIN attempt (docs/production.md "Secrets, startup checks and the certificate"). Other exits restart, backing off from 100 ms.
    stop_exit_codes: [2],
    exp_backoff_restart_delay: 100,
    env,
    increment_var: 'XKSGATE__metrics__port',
    // JSON lines to stdout; PM2 only collects them (see README on log shipping and rotation).
    merge_logs: true,
    time: false,
  }],
}
