#!/usr/bin/env bash
# Runs the docker-compose demo's topology without Docker, on 127.0.0.1: the
# server and every bot service, each with the command and environment
# written in docker-compose.yml, except that CHAT_HOST and CHATD_BIND are set
# to 127.0.0.1 and CHAT_PORT and CHATD_PORT to chatd's port, whatever the
# compose file gives them. Each bot's output goes to LOGS/NAME.log. Ctrl+C
# (SIGINT) or SIGTERM stops it all at once and says what each bot heard.
#
#   usage: demo/run-local.sh [--duration SECONDS] [--port PORT] [--logs DIR]
#     --duration  stop after this long; 0 runs until Ctrl+C (default 20)
#     --port      the server's port; 0 picks a free one (default 0)
#     --logs      where the logs go (default: a new directory under /tmp)
#   CHAT_BIN and CHATD_BIN name the binaries (default: build/release's).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
duration=20
port=0
logs=""
while (($#)); do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --logs) logs=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run-local: unknown argument $1" >&2; exit 2 ;;
  esac
done
chat_bin=${CHAT_BIN:-$repo/build/release/client/chat}
chatd_bin=${CHATD_BIN:-$repo/build/release/server/chatd}
for b in "$chat_bin" "$chatd_bin"; do
  [[ -x $b ]] || { echo "run-local: $b is missing; build it first (see README, Demo)" >&2; exit 1; }
done
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

# compose_services server|bots [NAME=VALUE]...: one line per service that
# compose starts by itself (the interactive client is left to a person):
# NAME, its environment and its command as shell words. The server is the
# service whose command is chatd. Each NAME=VALUE replaces that variable,
# whatever value the compose file gives it, or adds it.
compose_services() {
  "$py" - "$repo/docker-compose.yml" "$@" <<'PY'
import os, shlex, sys, yaml
compose = yaml.safe_load(open(sys.argv[1]))
want_server = sys.argv[2] == "server"
overrides = dict(a.split("=", 1) for a in sys.argv[3:])
for name, svc in compose["services"].items():
    if svc.get("profiles"):
        continue
    cmd = svc["command"]
    cmd = shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]
    if (os.path.basename(cmd[0]) == "chatd") != want_server:
        continue
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
    # A name without a value passes the variable through, as compose does.
    env = {k: os.environ.get(k, "") if v is None else str(v) for k, v in env.items()}
    env.update(overrides)
    words = [f"{k}={v}" for k, v in env.items()]
    print(name, shlex.join(words), "--", shlex.join(cmd), sep="\t")
PY
}
compose_get() {  # the server's healthcheck, or the interactive client's command
  "$py" - "$repo/docker-compose.yml" "$1" <<'PY'
import shlex, sys, yaml
services = yaml.safe_load(open(sys.argv[1]))["services"]
def command(svc):
    cmd = svc["command"]
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]
if sys.argv[2] == "healthcheck":
    server = next(s for s in services.values() if command(s)[0].split("/")[-1] == "chatd")
    test = server["healthcheck"]["test"]
    # ["CMD-SHELL", "..."] runs through sh; compose writes $ as $$.
    print(test[1].replace("$$", "$") if test[0] == "CMD-SHELL" else shlex.join(test[1:]))
else:
    print(shlex.join(command(services["client"])))
PY
}
client_cmd=$(compose_get client)

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
sleeper=""
cleanup() {
  [[ -n $sleeper ]] && kill "$sleeper" 2>/dev/null || true
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n ${server_pid:-} ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
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

# The server first, as compose does (depends_on: service_healthy).
IFS=$'\t' read -r _ server_env _ server_cmd < <(compose_services server CHATD_BIND=127.0.0.1 CHATD_PORT="$port" CHATD_DATA_DIR="$logs/data")
(eval "exec env $server_env $server_cmd") >"$logs/server.log" 2>&1 &
server_pid=$!
first_line=""
for _ in $(seq 200); do
  # The background shell may not have opened the log yet (set -e: a failed
  # head here would end the script).
  first_line=$(head -n 1 "$logs/server.log" 2>/dev/null || true)
  [[ $first_line == *"listening on"* ]] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
[[ $first_line == *"listening on"* ]] || { echo "run-local: chatd did not start" >&2; cat "$logs/server.log" >&2; exit 1; }
echo "run-local: $first_line"
port=$(sed -E 's/.*:([0-9]+) with.*/\1/' <<<"$first_line")
# The compose healthcheck, as written there, in the server's environment.
health=$(compose_get healthcheck)
(eval "export $server_env"; export CHATD_PORT=$port; sh -c "$health") >/dev/null ||
  { echo "run-local: the healthcheck failed: $health" >&2; exit 1; }

while IFS=$'\t' read -r name env _ cmd; do
  echo "run-local: $name: env $env $cmd  > $logs/$name.log"
  setsid bash -c "exec env $env $cmd" >"$logs/$name.log" 2>&1 </dev/null &
  pids+=($!)
  bots+=("$name")
done < <(compose_services bots CHAT_HOST=127.0.0.1 CHAT_PORT="$port")

echo "run-local: talk to them:  CHAT_HOST=127.0.0.1 CHAT_PORT=$port ${client_cmd/#chat /$(typeable "$chat_bin") }"
if ((duration > 0)); then
  pause "$duration"
else
  echo "run-local: Ctrl+C stops everything"
  while :; do pause 3600; done
fi
report
