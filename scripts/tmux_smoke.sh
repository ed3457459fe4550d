#!/usr/bin/env bash
# Drive the real study desk in tmux: keys in with send-keys, screen out with capture-pane.
#
#     scripts/tmux_smoke.sh          (needs tmux: apt-get install tmux)
#
# Checks, in a temporary STUDYTUI_HOME: the desk paints; the curriculum tree opens and an
# item is marked done; a `studytui mark` from another shell shows up without a restart;
# a note typed and never left is saved when the terminal hangs up (SIGHUP, as when an SSH
# connection drops); ASCII mode draws ASCII marks; q quits and logs a running timer.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
command -v tmux >/dev/null || { echo "tmux_smoke: tmux is not installed (apt-get install tmux)"; exit 2; }

HOME_DIR=$(mktemp -d)
SESSION="studytui-smoke-$$"   # also the tmux socket name: other tmux users are left alone
export STUDYTUI_HOME="$HOME_DIR"
cleanup() { tmux -L "$SESSION" kill-server 2>/dev/null || true; rm -rf "$HOME_DIR"; }
trap cleanup EXIT

fail() { echo "tmux_smoke: FAIL: $*"; echo "---- screen ----"; tmux -L "$SESSION" capture-pane -p -t "$SESSION" 2>/dev/null || true; exit 1; }
keys() {       # one key at a time, as a person types: each waits for the last to land
  for k in "$@"; do tmux -L "$SESSION" send-keys -t "$SESSION" "$k"; sleep 0.3; done
}
screen() { tmux -L "$SESSION" capture-pane -p -t "$SESSION"; }
wait_for() {   # wait_for TEXT [SECONDS]
  local deadline=$((SECONDS + ${2:-15}))
  until screen | grep -qF -- "$1"; do
    [ $SECONDS -lt $deadline ] || fail "never saw '$1'"
    sleep 0.2
  done
}
sql() { "$PY" -c "import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall(); print(r[0][0] if r else '')" "$HOME_DIR/studytui.db" "$1"; }
start() {      # start [ENV=VALUE ...]: a fresh desk in a 100x30 terminal
  tmux -L "$SESSION" kill-session -t "$SESSION" 2>/dev/null || true
  tmux -L "$SESSION" new-session -d -s "$SESSION" -x 100 -y 30 \
    "env STUDYTUI_HOME='$HOME_DIR' TERM=xterm-256color $* $PY -m studytui; sleep 30"
  wait_for "Progress"
  wait_for "day streak"
}
app_pid() {     # the pane runs `sh -c "env ... python -m studytui; sleep"`: python is its child
  pgrep -n -P "$(tmux -L "$SESSION" display-message -p -t "$SESSION" '#{pane_pid}')"
}

echo "1. the desk paints"
start
screen | grep -q "Next up" || fail "no 'Next up' on the desk"

echo "2. curriculum: open the first course and section, mark the first item done"
tmux -L "$SESSION" send-keys -t "$SESSION" c
wait_for "Note"
keys Space Down Space Down x
wait_for "[✔]"
KEY=$(sql "SELECT key FROM progress WHERE status='done'")
[ -n "$KEY" ] || fail "no item is done in the database"
echo "   marked $KEY"

echo "3. a change from the CLI shows up without a restart"
"$PY" -m studytui mark "$KEY" skipped >/dev/null
wait_for "[–]" 5

echo "4. a note typed and never left survives a hang-up (SIGHUP)"
tmux -L "$SESSION" send-keys -t "$SESSION" n
sleep 0.3
tmux -L "$SESSION" send-keys -t "$SESSION" -l "typed just before the line dropped"
sleep 0.1    # well under the 0.5 s debounce: only the SIGHUP handler can save it
PID=$(app_pid)
[ -n "$PID" ] || fail "no app process"
kill -HUP "$PID"
for _ in $(seq 50); do
  [ "$(sql "SELECT body FROM notes WHERE key='$KEY'")" = "typed just before the line dropped" ] && break
  sleep 0.1
done
[ "$(sql "SELECT body FROM notes WHERE key='$KEY'")" = "typed just before the line dropped" ] || fail "the note was lost on SIGHUP"
for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && fail "the app kept running after SIGHUP"

echo "5. ASCII mode; the timer is logged on quit"
start STUDYTUI_ASCII=1
tmux -L "$SESSION" send-keys -t "$SESSION" c
wait_for "Note"
keys Space Down Space Down
wait_for "[-]"
screen | grep -qF "✔" && fail "a Unicode mark in ASCII mode"
tmux -L "$SESSION" send-keys -t "$SESSION" t
wait_for "T 00:0"
sleep 1.2
tmux -L "$SESSION" send-keys -t "$SESSION" q
for _ in $(seq 50); do
  [ -n "$(sql "SELECT SUM(seconds) FROM time_log")" ] && break
  sleep 0.1
done
[ -n "$(sql "SELECT SUM(seconds) FROM time_log")" ] || fail "no study time logged on quit"
echo "tmux_smoke: OK"
