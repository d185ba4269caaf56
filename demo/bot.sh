#!/usr/bin/env bash
# A demo bot: joins ROOM as NICK with `chat --plain` and says a line every
# SECONDS (default 3), printing every event it sees, one line each.
# Where to connect comes from CHAT_HOST and CHAT_PORT, as for `chat` itself.
#   usage: bot.sh NICK ROOM [SECONDS]
set -euo pipefail
nick=${1:?usage: bot.sh NICK ROOM [SECONDS]}
room=${2:?usage: bot.sh NICK ROOM [SECONDS]}
every=${3:-3}

lines=(
  "hello, $nick here"
  "anyone else watching the sequence numbers go up?"
  "/me stretches"
  "the build is green again"
  "who broke the coffee machine?"
  "reconnects are boring when they just work"
  "/topic bots talking, humans welcome"
  "back to work"
)

talk() {
  local i=0
  while :; do
    sleep "$every"
    echo "${lines[i % ${#lines[@]}]}"
    i=$((i + 1))
  done
}

# chat quits on SIGTERM; the talker then dies on its next write.
talk | chat --plain --nick "$nick" --join "$room"
