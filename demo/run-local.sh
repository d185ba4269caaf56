#!/usr/bin/env bash
# Runs the docker-compose demo's topology without Docker, on 127.0.0.1: the
# server and every bot service, each with the command and environment
# written in docker-compose.yml (CHAT_HOST/CHATD_BIND become 127.0.0.1 and
# the port is the one chatd got). Each bot's output goes to LOGS/NAME.log.
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
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
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

# One line per service: NAME, then its environment and command as shell
# words. Debian's docker-compose depends on python3-yaml, so it is here.
services=$(python3 - "$repo/docker-compose.yml" <<'PY'
import shlex, sys, yaml
compose = yaml.safe_load(open(sys.argv[1]))
for name, svc in compose["services"].items():
    if svc.get("profiles"):
        continue  # the interactive client: a person runs that one
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    words = [f"{k}={v}" for k, v in env.items()]
    cmd = svc["command"]
    cmd = shlex.split(cmd) if isinstance(cmd, str) else cmd
    print(name, shlex.join(words), "--", shlex.join(str(c) for c in cmd), sep="\t")
PY
)
client_cmd=$(python3 -c '
import shlex, sys, yaml
svc = yaml.safe_load(open(sys.argv[1]))["services"]["client"]
print(shlex.join(svc["command"]))' "$repo/docker-compose.yml")

pids=()
bots=()
cleanup() {
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

# The server first, as compose does (depends_on: service_healthy).
server_line=$(grep -P '^server\t' <<<"$services")
IFS=$'\t' read -r _ server_env _ server_cmd <<<"$server_line"
(eval "exec env $server_env CHATD_BIND=127.0.0.1 CHATD_PORT=$port $server_cmd") >"$logs/server.log" 2>&1 &
server_pid=$!
first_line=""
for _ in $(seq 200); do
  first_line=$(head -n 1 "$logs/server.log")
  [[ $first_line == *"listening on"* ]] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
[[ $first_line == *"listening on"* ]] || { echo "run-local: chatd did not start" >&2; cat "$logs/server.log" >&2; exit 1; }
echo "run-local: $first_line"
port=$(sed -E 's/.*:([0-9]+) with.*/\1/' <<<"$first_line")
# The compose healthcheck, as written there.
CHATD_PORT=$port sh -c "chat --check --host 127.0.0.1 --port \$CHATD_PORT" >/dev/null

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

bots=()
while IFS=$'\t' read -r name env _ cmd; do
  [[ $name == server ]] && continue
  env=${env//CHAT_HOST=server/CHAT_HOST=127.0.0.1}
  env=${env//CHAT_PORT=7777/CHAT_PORT=$port}
  echo "run-local: $name: env $env $cmd  > $logs/$name.log"
  setsid bash -c "exec env $env $cmd" >"$logs/$name.log" 2>&1 </dev/null &
  pids+=($!)
  bots+=("$name")
done <<<"$services"

echo "run-local: talk to them:  CHAT_HOST=127.0.0.1 CHAT_PORT=$port ${client_cmd/#chat /$chat_bin }"
if ((duration > 0)); then
  sleep "$duration"
else
  echo "run-local: Ctrl+C stops everything"
  while :; do sleep 3600; done
fi
report
