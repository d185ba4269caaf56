#!/usr/bin/env bash
# Runs a docker-compose demo's topology without Docker, on 127.0.0.1: its
# Redis (if it has one), every server and every bot service, each with the
# command and environment written in the compose file, except that every
# service gets a port of its own on 127.0.0.1: CHATD_BIND is 127.0.0.1 and
# CHATD_PORT a free port, CHATD_CLUSTER (where a server has one) names the
# local Redis, and a bot's CHAT_HOST is 127.0.0.1 with CHAT_PORT the port of
# the server its CHAT_HOST named. Each service's output goes to
# LOGS/NAME.log. Ctrl+C (SIGINT) or SIGTERM stops it all at once and says
# what each bot heard.
#
#   usage: demo/run-local.sh [--cluster] [--duration SECONDS] [--port PORT] [--logs DIR]
#     --cluster   docker-compose.cluster.yml: Redis and two chatd nodes
#                 (default: docker-compose.yml, one chatd)
#     --duration  stop after this long; 0 runs until Ctrl+C (default 20)
#     --port      the first server's port; 0 picks a free one (default 0)
#     --logs      where the logs go (default: a new directory under /tmp)
#   CHAT_BIN and CHATD_BIN name the binaries (default: build/release's);
#   the cluster needs redis-server (Debian: redis-server).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
compose=$repo/docker-compose.yml
duration=20
port=0
logs=""
while (($#)); do
  case $1 in
    --cluster) compose=$repo/docker-compose.cluster.yml; shift ;;
    --duration) duration=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --logs) logs=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "run-local: unknown argument $1" >&2; exit 2 ;;
  esac
done
chat_bin=${CHAT_BIN:-$repo/build/release/client/chat}
chatd_bin=${CHATD_BIN:-$repo/build/release/server/chatd}
for b in "$chat_bin" "$chatd_bin"; do
  [[ -x $b ]] || { echo "run-local: $b is missing; build it first (see README, Demo)" >&2; exit 1; }
done
chat_bin=$(realpath "$chat_bin")
chatd_bin=$(realpath "$chatd_bin")
[[ -n $logs ]] || logs=$(mktemp -d /tmp/chat-demo.XXXXXX)
mkdir -p "$logs"

# The commands in the compose file name chatd, chat and bot.sh as the image
# has them on its PATH; here the same names point at this checkout.
bin=$(mktemp -d /tmp/chat-demo-bin.XXXXXX)
ln -s "$chat_bin" "$bin/chat"
ln -s "$chatd_bin" "$bin/chatd"
ln -s "$repo/demo/bot.sh" "$bin/bot.sh"
export PATH="$bin:$PATH"

# Debian's docker-compose depends on python3-yaml; a python3 earlier on the
# PATH (a pyenv one, say) may lack it.
py=python3
"$py" -c 'import yaml' 2>/dev/null || py=/usr/bin/python3

# compose_services redis|server|bots [NAME=VALUE | NAME?=VALUE | @SERVICE=PORT | --FLAG=VALUE]...:
# one line per service of that kind that compose starts by itself (the
# interactive client is left to a person), in the file's order: NAME, its
# environment and its command as shell words, apart by \x1f (not a tab:
# read would fold an empty environment away). A server is a service whose
# command is chatd, Redis one whose command is redis-server. NAME=VALUE
# replaces that variable, whatever value the compose file gives it, or adds
# it; NAME?=VALUE replaces it only where the service sets it. @SERVICE=PORT
# says where a server listens: a service whose CHAT_HOST names it gets
# CHAT_HOST=127.0.0.1 and CHAT_PORT=PORT. --FLAG=VALUE gives the command's
# --FLAG that value (Redis reads its flags in order and would fail on a
# --dir of the image's before reaching another given after it).
compose_services() {
  "$py" - "$compose" "$@" <<'PY'
import os, shlex, sys, yaml
compose = yaml.safe_load(open(sys.argv[1]))
kind = sys.argv[2]
overrides, if_set, ports = {}, {}, {}
flags = {}
for a in sys.argv[3:]:
    name, value = a.split("=", 1)
    if name.startswith("--"):
        flags[name] = value
    elif name.startswith("@"):
        ports[name[1:]] = value
    elif name.endswith("?"):
        if_set[name[:-1]] = value
    else:
        overrides[name] = value
def kind_of(cmd):
    return {"chatd": "server", "redis-server": "redis"}.get(os.path.basename(cmd[0]), "bots")
for name, svc in compose["services"].items():
    if svc.get("profiles"):
        continue
    cmd = svc["command"]
    cmd = shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]
    if kind_of(cmd) != kind:
        continue
    for flag, value in flags.items():
        if flag in cmd[1:-1]:
            cmd[cmd.index(flag, 1) + 1] = value
        else:
            cmd += [flag, value]
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
    # A name without a value passes the variable through, as compose does.
    env = {k: os.environ.get(k, "") if v is None else str(v) for k, v in env.items()}
    if env.get("CHAT_HOST") in ports:
        env["CHAT_PORT"] = ports[env["CHAT_HOST"]]
        env["CHAT_HOST"] = "127.0.0.1"
    env.update({k: v for k, v in if_set.items() if k in env})
    env.update(overrides)
    words = [f"{k}={v}" for k, v in env.items()]
    print(name, shlex.join(words), "--", shlex.join(cmd), sep="\x1f")
PY
}
compose_get() {  # healthcheck SERVICE, or the interactive client's host and command
  "$py" - "$compose" "$@" <<'PY'
import shlex, sys, yaml
services = yaml.safe_load(open(sys.argv[1]))["services"]
def command(svc):
    cmd = svc["command"]
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]
if sys.argv[2] == "healthcheck":
    test = services[sys.argv[3]]["healthcheck"]["test"]
    # ["CMD-SHELL", "..."] runs through sh; compose writes $ as $$.
    print(test[1].replace("$$", "$") if test[0] == "CMD-SHELL" else shlex.join(test[1:]))
else:
    client = services["client"]
    print(client.get("environment", {}).get("CHAT_HOST", ""), shlex.join(command(client)), sep="\x1f")
PY
}
IFS=$'\x1f' read -r client_host client_cmd < <(compose_get client)

# A path as the person reading it can type it from here.
typeable() {
  local p=$1
  [[ $p == "$PWD"/* ]] && p=${p#"$PWD"/}
  [[ $p == */* ]] || p=./$p
  printf '%s' "$p"
}

# What each bot heard from the others.
report() {
  for name in "${bots[@]}"; do
    nick=${name#bot-}
    summary=""
    for other in "${bots[@]}"; do
      [[ $other == "$name" ]] && continue
      n=$(grep -cE "(<${other#bot-}>|\* ${other#bot-} [^jlq])" "$logs/$name.log" || true)
      summary+=" ${other#bot-}:$n"
    done
    echo "run-local: $nick heard$summary"
  done
  echo "run-local: logs in $logs"
}

pids=()
bots=()
servers=()  # server pids, stopped after the bots; Redis's last
redis_pid=""
sleeper=""
cleanup() {
  [[ -n $sleeper ]] && kill "$sleeper" 2>/dev/null || true
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for pid in "${servers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n $redis_pid ]]; then
    kill -TERM "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$bin"
}
trap cleanup EXIT
trap 'report; exit 0' INT TERM

# Sleeps without holding off signals: bash runs a trap only once the
# foreground command is done, but it interrupts `wait` at once.
pause() {
  sleep "$1" &
  sleeper=$!
  wait "$sleeper" || true
  sleeper=""
}

# A free port on 127.0.0.1 for a service that cannot pick its own (Redis).
free_port() {
  "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Redis first, as compose does (the servers depend on its health): on a
# port of its own, keeping its files in the logs.
redis_url=""
rport=$(free_port)
while IFS=$'\x1f' read -r name env _ cmd; do
  mkdir -p "$logs/redis"
  (eval "exec env $env $cmd") >"$logs/$name.log" 2>&1 </dev/null &
  redis_pid=$!
  for _ in $(seq 100); do
    grep -q "Ready to accept connections" "$logs/$name.log" 2>/dev/null && break
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "Ready to accept connections" "$logs/$name.log" ||
    { echo "run-local: $name did not start" >&2; cat "$logs/$name.log" >&2; exit 1; }
  redis_url=redis://127.0.0.1:$rport
  echo "run-local: $name: redis-server on 127.0.0.1:$rport  > $logs/$name.log"
done < <(compose_services redis --bind=127.0.0.1 --port="$rport" --dir="$logs/redis")

# The servers, one after the other (depends_on: service_healthy), each on
# a port of its own: the first on --port, the others on free ones.
server_ports=()
while IFS=$'\x1f' read -r name env _ cmd; do
  overrides=(CHATD_BIND=127.0.0.1 CHATD_PORT="$port" CHATD_DATA_DIR="$logs/data-$name")
  [[ -n $redis_url ]] && overrides+=("CHATD_CLUSTER?=$redis_url")
  IFS=$'\x1f' read -r _ env _ cmd < <(compose_services server "${overrides[@]}" | grep "^$name"$'\x1f')
  (eval "exec env $env $cmd") >"$logs/$name.log" 2>&1 </dev/null &
  servers+=($!)
  listening=""
  for _ in $(seq 200); do
    # The background shell may not have opened the log yet (set -e: a
    # failed grep here would end the script).
    listening=$(grep -m 1 "listening on" "$logs/$name.log" 2>/dev/null || true)
    [[ -n $listening ]] && break
    kill -0 "${servers[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $listening ]] || { echo "run-local: $name did not start" >&2; cat "$logs/$name.log" >&2; exit 1; }
  echo "run-local: $name: $listening"
  node_port=$(sed -E 's/.*:([0-9]+) with.*/\1/' <<<"$listening")
  # The compose healthcheck, as written there, in the server's environment.
  health=$(compose_get healthcheck "$name")
  (eval "export $env"; export CHATD_PORT=$node_port; sh -c "$health") >/dev/null </dev/null ||
    { echo "run-local: $name's healthcheck failed: $health" >&2; exit 1; }
  server_ports+=("@$name=$node_port")
  [[ $name == "$client_host" ]] && client_port=$node_port
  port=0
done < <(compose_services server)

while IFS=$'\x1f' read -r name env _ cmd; do
  echo "run-local: $name: env $env $cmd  > $logs/$name.log"
  setsid bash -c "exec env $env $cmd" >"$logs/$name.log" 2>&1 </dev/null &
  pids+=($!)
  bots+=("$name")
done < <(compose_services bots "${server_ports[@]}")

echo "run-local: talk to them:  CHAT_HOST=127.0.0.1 CHAT_PORT=${client_port:-?} ${client_cmd/#chat /$(typeable "$chat_bin") }"
if ((duration > 0)); then
  pause "$duration"
else
  echo "run-local: Ctrl+C stops everything"
  while :; do pause 3600; done
fi
report
