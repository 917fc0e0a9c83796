# shellcheck shell=bash
# Sourced by deploy/compat/container.sh (its helpers pass, fail, check, conformance, host_connection): the compose
# trial, compose.yaml with Redis and SoftHSM, run by podman-compose (Debian's package; podman 4.3 has no
# `podman compose`) with one override file: the images. No registry image can be pulled here, so
#   - redis:7-bookworm is replaced by a stand-in made on the local base image from Debian's redis-server (8.0 on
#     Debian 13), started with --protected-mode no as the official image is (its build turns protected mode
#     off; Debian's default refuses clients from another address, the proxy's container);
#   - the xksgate service's `build: {target: softhsm}` is the trial image this test built from the same Dockerfile
#     (podman-compose builds only when the image is missing; building it here would pull node:24-trixie-slim).
# Everything else (the command, environment, fixed loopback ports 8443/9100/9464, the named volume, the
# service-name lookup of redis://redis:6379) is compose.yaml's own.
#
# compose_checks LABEL TRIAL_IMAGE BASE_IMAGE
compose_checks() {
  local label="$1 compose.yaml" trial=$2 base=$3 project=xksgate-test dir=$work/compose
  local redis=localhost/xksgate-test:redis-stand-in name=xksgate-test_xksgate_1 port
  mkdir -p "$dir"
  for port in 8443 9100 9464; do
    if ss -Hltn "sport = :$port" | grep -q .; then fail "$label: port $port on this machine is free for compose.yaml's ports"; return; fi
  done
  if ! podman image exists "$redis"; then
    printf 'FROM %s\nRUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null && rm -rf /var/lib/apt/lists/*\nUSER redis\nENTRYPOINT ["/bin/sh", "-c", "exec \\"$@\\" --protected-mode no", "sh"]\nCMD ["redis-server"]\n' \
      "$base" >"$dir/Containerfile"
    step "podman build $redis (Debian's redis-server on $base)"
    podman build --format docker -t "$redis" "${apt_cache_mount[@]}" "$dir" >"$work/redis-build.log" 2>&1 ||
      { tail -n 20 "$work/redis-build.log" >&2; fail "$label: a stand-in Redis image builds"; return; }
  fi
  printf 'services:\n  redis:\n    image: %s\n  xksgate:\n    image: %s\n' "$redis" "$trial" >"$dir/images.yaml"
  compose=(podman-compose -p "$project" -f "$repo/compose.yaml" -f "$dir/images.yaml")
  compose_down
  step "podman-compose up -d (compose.yaml with the local images)"
  started_ms=$(date +%s%3N)
  "${compose[@]}" up -d >"$work/compose.log" 2>&1 || { tail -n 20 "$work/compose.log" >&2; fail "$label: podman-compose up"; return; }
  if ! wait_ready "$name" 120; then
    fail "$label: podman-compose up: the proxy becomes ready"; podman logs --tail 20 "$name" >&2; compose_down; return
  fi
  pass "$label: podman-compose up: the proxy becomes ready on 127.0.0.1:9100"
  echo "start to ready: $(ready_time) s (podman-compose up, first start)"
  check "$label: the proxy reaches Redis by its service name (xksgate_replay_redis_up 1 on :9464)" \
    bash -c "curl -sf http://127.0.0.1:9464/metrics | grep -qx 'xksgate_replay_redis_up 1'"
  host_connection "$name" "$(podman volume inspect --format '{{.Mountpoint}}' "${project}_xksgate-dev")"
  conformance "$name"
  check "$label: the replay cache is in Redis (keys written by the conformance requests)" \
    bash -c "[[ \$(podman exec ${project}_redis_1 redis-cli dbsize) -gt 0 ]]"
  compose_down
}
compose_down() { "${compose[@]}" down -v -t 20 >>"$work/compose.log" 2>&1; podman network rm -f xksgate-test_default >/dev/null 2>&1; return 0; }
