# shellcheck shell=bash
# Sourced by deploy/compat/container.sh (its helpers pass, fail, check, build, wait_ready): the shipped
# deploy/systemd/xksgate.service under a real systemd, as PID 1 of a container (`podman run --systemd=always`).
#
# systemd_checks LABEL TRIAL_IMAGE VOLUME CONNECTION: TRIAL_IMAGE is the softhsm target (the build in /opt/xksgate,
# the user xksgate, SoftHSM); VOLUME the trial's provisioned directory (token, certificate, secrets, config);
# CONNECTION the trial's connection.json as the host saw it (credentials, key ids). The image adds
# systemd and /usr/bin/node (a link: the unit's ExecStart names /usr/bin/node, the official images /usr/local/bin);
# the unit file is copied unchanged. The token goes where the unit's ReadWritePaths lets SoftHSM write
# (/var/lib/softhsm), the configuration to /etc/xksgate, the audit log to /var/log/xksgate. Two serving processes:
# a reload replaces them one at a time (with one, the proxy refuses a reload that would leave a gap). The latency
# budget is widened to seconds as in test/integration/cluster-reload.test.ts: the reload check counts lost requests,
# and a SoftHSM call starved of CPU on a loaded 2-core host would otherwise come back as 503 or 429.
systemd_checks() {
  local label="$1 under systemd" trial=$2 volume=$3 connection=$4 dir=$work/systemd name=xksgate-test-systemd
  local image=localhost/xksgate-test:systemd
  mkdir -p "$dir/etc" "$dir/softhsm"
  cp "$repo/deploy/systemd/xksgate.service" "$dir/"
  printf 'FROM %s\nUSER root\nRUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd systemd-sysv >/dev/null && rm -rf /var/lib/apt/lists/* && ln -s /usr/local/bin/node /usr/bin/node\nCOPY xksgate.service /etc/systemd/system/xksgate.service\nHEALTHCHECK NONE\nENTRYPOINT ["/sbin/init"]\n' \
    "$trial" >"$dir/Containerfile"
  step "podman build $image (systemd on $trial)"
  if ! podman build --format docker -t "$image" "${apt_cache_mount[@]}" "$dir" >"$work/systemd-build.log" 2>&1; then
    tail -n 20 "$work/systemd-build.log" >&2; fail "$label: an image with systemd builds"; return
  fi

  # The trial's configuration, moved to the places the unit's sandbox expects (SoftHSM's own configuration, which
  # the embedded default names in hsm.environment, included).
  cp -a "$volume/softhsm/tokens" "$dir/softhsm/" && printf 'directories.tokendir = /var/lib/softhsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' >"$dir/softhsm/softhsm2.conf"
  cp -a "$volume/tls" "$volume/secrets" "$dir/etc/"
  openssl rand -hex 32 >"$dir/etc/secrets/audit-key"
  jq '(.. | strings) |= sub("^/var/lib/xksgate/"; "/etc/xksgate/") | .server.host = "0.0.0.0" | .server.port = 8443
    | .healthPort = {port: 9100, host: "0.0.0.0"} | .shutdown.graceMs = 3000 | .health.intervalMs = 2000
    | .cluster.processes = 2 | .replay.allowProcessLocal = true | .hsm.threads = 1
    | .hsm.opTimeoutMs = 2000 | .server.requestTimeoutMs = 5000
    | if .hsm.environment.SOFTHSM2_CONF? then .hsm.environment.SOFTHSM2_CONF = "/var/lib/softhsm/softhsm2.conf" else . end
    | .audit = {file: "/var/log/xksgate/audit.jsonl", key: {file: "/etc/xksgate/secrets/audit-key"}}' \
    "$volume/config.json" >"$dir/etc/config.json" || { fail "$label: the configuration for the unit"; return; }
  echo 'SOFTHSM2_CONF=/var/lib/softhsm/softhsm2.conf' >"$dir/etc/env"
  chown -R 10001:10001 "$dir/softhsm" "$dir/etc/secrets" "$dir/etc/tls"
  chmod 0600 "$dir/etc/env"

  containers+=("$name")
  podman rm -f -t 0 "$name" >/dev/null 2>&1
  podman run -d --name "$name" --systemd=always -p 127.0.0.1::8443 -p 127.0.0.1::9100 \
    -v "$dir/etc:/etc/xksgate" -v "$dir/softhsm:/var/lib/softhsm" "$image" >/dev/null
  local deadline=$((SECONDS + 60))
  until [[ $(podman exec "$name" systemctl is-system-running 2>/dev/null) =~ ^(running|degraded)$ ]]; do
    ((SECONDS < deadline)) || { fail "$label: systemd boots as PID 1"; return; }
    sleep 0.5
  done
  pass "$label: systemd $(podman exec "$name" systemctl --version | sed -n '1s/systemd \([0-9]*\).*/\1/p') boots as PID 1"
  local in=(podman exec "$name") health_url
  health_url=http://127.0.0.1:$(host_port "$name" 9100)/readyz

  # Start: activating while /readyz is not 200, active only once it is.
  "${in[@]}" systemctl start --no-block xksgate
  local state seen_activating=0 early_active=0
  deadline=$((SECONDS + 150))
  while state=$("${in[@]}" systemctl is-active xksgate); [[ $state != active ]]; do
    [[ $state == activating ]] && seen_activating=1
    [[ $state == failed ]] || ((SECONDS > deadline)) && break
    sleep 0.2
  done
  [[ $state == active ]] && ! curl -sf -o /dev/null "$health_url" && early_active=1
  check "$label: systemctl start stays activating until /readyz says 200, then active" \
    test "$state" = active -a "$seen_activating" = 1 -a "$early_active" = 0
  [[ $state == active ]] || { "${in[@]}" journalctl -u xksgate --no-pager -n 20 >&2; return; }

  host_connection "$name" "$dir/etc" "$connection"
  conformance "$name"
  check "$label: the sandbox leaves the audit log writable (records in /var/log/xksgate)" \
    bash -c "[[ \$(${in[*]} sh -c 'cat /var/log/xksgate/audit.jsonl* 2>/dev/null | wc -l') -gt 10 ]]"
  check "$label: journalctl shows the JSON log" \
    bash -c "${in[*]} journalctl -u xksgate -o cat --no-pager | grep '^{' | tail -n 1 | jq -e '.msg' >/dev/null"

  step "systemctl reload xksgate under signed load"
  local since result
  since=$("${in[@]}" date '+%Y-%m-%d %H:%M:%S')
  result=$(node dist/test/container/stop-under-load.js "$work/$name.connection.json" - -- timeout 120 bash -c \
    "${in[*]} systemctl reload xksgate && until ${in[*]} journalctl -u xksgate -o cat --no-pager --since '$since' | grep -q 'reload done'; do sleep 0.5; done")
  echo "$result"
  check "$label: systemctl reload is zero-loss under signed load" bash -c "[[ '$result' == *'\"failed\":0,'* && '$result' == *'\"stopExit\":0'* ]]"

  # A crash (SIGKILL of the main process) is restarted after RestartSec.
  local pid
  pid=$("${in[@]}" systemctl show -P MainPID xksgate)
  "${in[@]}" kill -KILL "$pid"
  deadline=$((SECONDS + 60))
  until [[ $("${in[@]}" systemctl show -P NRestarts xksgate) == 1 && $("${in[@]}" systemctl is-active xksgate) == active ]]; do
    ((SECONDS < deadline)) || break
    sleep 0.5
  done
  check "$label: a crash is restarted (NRestarts 1, active again)" \
    bash -c "[[ \$(${in[*]} systemctl show -P NRestarts xksgate) == 1 && \$(${in[*]} systemctl is-active xksgate) == active ]]"

  step "systemctl stop xksgate under signed load"
  result=$(node dist/test/container/stop-under-load.js "$work/$name.connection.json" "$health_url" -- "${in[@]}" systemctl stop xksgate)
  echo "$result"
  check "$label: systemctl stop drains: 0 failed requests under signed load" bash -c "[[ '$result' == *'\"failed\":0,'* && '$result' == *'\"stopExit\":0'* ]]"
  check "$label: systemctl stop is graceful (exit 0, result success)" \
    bash -c "[[ \$(${in[*]} systemctl show -P ExecMainStatus xksgate) == 0 && \$(${in[*]} systemctl show -P Result xksgate) == success ]]"

  # A wrong HSM PIN: the proxy exits 2, which RestartPreventExitStatus keeps from being restarted (each start would
  # spend a PIN attempt). The configuration stays valid, so ExecStartPost's `ready` reads it and waits, until the
  # main process is gone.
  cp -a "$dir/etc/secrets/hsm-pin" "$dir/etc/secrets/hsm-pin.good" && printf '00000000' >"$dir/etc/secrets/hsm-pin"
  "${in[@]}" systemctl reset-failed xksgate 2>/dev/null
  local started=$SECONDS took
  "${in[@]}" systemctl start xksgate 2>/dev/null
  took=$((SECONDS - started))
  echo "systemctl start with a wrong HSM PIN failed after $took s"
  # ExecStartPost's `ready --pid $MAINPID` ends its wait once the proxy has exited, not after --wait's 120 s.
  check "$label: a start with a wrong PIN fails once the proxy exits (${took} s, not ready's 120 s)" test "$took" -lt 90
  sleep 8 # above RestartSec=5: a restart would have happened by now
  check "$label: a configuration error (a wrong PIN, exit 2) is not restarted" \
    bash -c "[[ \$(${in[*]} systemctl show -P ExecMainStatus xksgate) == 2 && \$(${in[*]} systemctl show -P NRestarts xksgate) == 0 && \$(${in[*]} systemctl is-active xksgate) == failed ]]"
  mv "$dir/etc/secrets/hsm-pin.good" "$dir/etc/secrets/hsm-pin"
}

