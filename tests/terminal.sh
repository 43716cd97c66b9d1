#!/usr/bin/env bash
# The real binary in a real terminal (tmux), against a copy of the quick start: the plan is
# coloured on a terminal and plain with NO_COLOR; `apply` asks for the region and the number of
# desktops, a wrong answer cancels with nothing deleted, the right one deletes (showing progress
# while it waits, cleared afterwards), and the next plan says `No changes.`. Nothing is written
# into the repository.
#
#   DESKPRUNE_BIN=target/debug/deskprune bash tests/terminal.sh
#
# `cargo test` runs it (tests/cli/terminal.rs) when tmux is installed; without tmux it says
# "skipped", or fails under CI=true. The last line is
# `N passed, M failed`; the exit status is non-zero when anything failed.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${DESKPRUNE_BIN:-$root/target/debug/deskprune}
passed=0
failed=0

pass() {
    passed=$((passed + 1))
    printf 'ok   %s\n' "$1"
}

# fail NAME [PANE_TEXT]
fail() {
    failed=$((failed + 1))
    printf 'FAIL %s\n' "$1"
    if [ -n "${2:-}" ]; then
        printf '%s\n' "$2" | grep -v '^$' | sed 's/^/     | /'
    fi
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && exit 0
    exit 1
}

if ! command -v tmux >/dev/null 2>&1; then
    fail "tmux is not installed"
    finish
fi
if [ ! -x "$bin" ]; then
    fail "no deskprune binary at $bin (build it, or set DESKPRUNE_BIN)"
    finish
fi
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/deskprune-terminal.XXXXXX")
cp -R "$root/examples/quickstart/." "$work/"
rm -f "$work"/deskprune.state* # left by a quick start run from the checkout

# A private tmux server with a clean environment: no NO_COLOR, CI or TERM=dumb from outside.
sock=$work/tmux.sock
tmx() { tmux -S "$sock" -f /dev/null "$@"; }
trap 'tmx kill-server >/dev/null 2>&1; rm -rf "$work"' EXIT
env -i PATH="$PATH" HOME="$work" TERM=xterm-256color LANG=C.UTF-8 \
    tmux -S "$sock" -f /dev/null new-session -d -s deskprune -x 160 -y 50 -c "$work"
tmx set-window-option -g remain-on-exit on >/dev/null

# start CMD...: runs CMD on a terminal of its own (a new window); prints its pane. The exit
# status is printed after the command as `[exit N]` (tmux's own #{pane_dead_status} is not
# always filled in when a pane dies).
start() { tmx new-window -d -P -F '#{pane_id}' -c "$work" sh -c '"$@"; echo "[exit $?]"' sh "$@"; }

# screen PANE: what the terminal shows, colours included (-e), wrapped lines joined.
screen() { tmx capture-pane -p -e -J -S - -t "$1"; }

# plain PANE: the same without the escape sequences.
plain() { tmx capture-pane -p -J -S - -t "$1"; }

# finished PANE: waits (up to 20 s) for the command to end; prints its exit status.
finished() {
    local status
    for _ in $(seq 200); do
        status=$(plain "$1" | sed -n 's/^\[exit \([0-9]*\)\]$/\1/p')
        if [ -n "$status" ]; then
            echo "$status"
            return 0
        fi
        sleep 0.1
    done
    echo "still running"
}

# shows PANE TEXT: waits (up to 10 s) for TEXT on the terminal.
shows() {
    for _ in $(seq 100); do
        plain "$1" | grep -qF -- "$2" && return 0
        sleep 0.1
    done
    return 1
}

esc=$'\e['
prompt='Delete 3 desktops? Type the region and the number of desktops'

# (a) Colours on a terminal, none with NO_COLOR.
pane=$(start "$bin" plan)
status=$(finished "$pane")
out=$(screen "$pane")
if [ "$status" = 0 ] && [[ $out == *"$esc"* ]] && [[ $out == *"3 to delete"* ]]; then
    pass "plan on a terminal is coloured"
else
    fail "plan on a terminal is coloured (exit $status)" "$(plain "$pane")"
fi

pane=$(start env NO_COLOR=1 "$bin" plan)
status=$(finished "$pane")
out=$(screen "$pane")
if [ "$status" = 0 ] && [[ $out != *"$esc"* ]] && [[ $out == *"3 to delete"* ]]; then
    pass "plan with NO_COLOR=1 has no escape sequences"
else
    fail "plan with NO_COLOR=1 has no escape sequences (exit $status)" "$out"
fi

# (b) The confirmation prompt: a wrong answer cancels and deletes nothing.
pane=$(start "$bin" apply)
if shows "$pane" "$prompt"; then
    pass "apply asks for the region and the number of desktops"
    tmx send-keys -t "$pane" -l "cn-north-4 2"
    tmx send-keys -t "$pane" Enter
    status=$(finished "$pane")
    if [ "$status" = 1 ] && plain "$pane" | grep -qF "apply cancelled"; then
        pass "a wrong answer (\`cn-north-4 2\`) cancels"
    else
        fail "a wrong answer (\`cn-north-4 2\`) cancels (exit $status)" "$(plain "$pane")"
    fi
else
    fail "apply asks for the region and the number of desktops" "$(plain "$pane")"
    fail "a wrong answer (\`cn-north-4 2\`) cancels: no prompt"
    tmx kill-pane -t "$pane"
fi

pane=$(start "$bin" plan --detailed-exitcode)
status=$(finished "$pane")
if [ "$status" = 2 ] && plain "$pane" | grep -qF "Plan: 3 to delete"; then
    pass "after the cancelled apply, nothing was deleted"
else
    fail "after the cancelled apply, nothing was deleted (exit $status)" "$(plain "$pane")"
fi

# The right answer deletes the three desktops, with progress while it waits that is gone
# afterwards; the next plan has nothing to do.
pane=$(start "$bin" apply)
if shows "$pane" "$prompt"; then
    tmx send-keys -t "$pane" -l "cn-north-4 3"
    tmx send-keys -t "$pane" Enter
    # The job takes a second in the simulator: long enough to see the progress line.
    if shows "$pane" "Waiting for jobs: 0 of 1 finished"; then
        pass "progress shows while waiting for the job"
    else
        fail "progress shows while waiting for the job" "$(plain "$pane")"
    fi
    status=$(finished "$pane")
    if [ "$status" = 0 ] && plain "$pane" | grep -qF "3 deleted"; then
        pass "\`cn-north-4 3\` deletes the 3 desktops"
    else
        fail "\`cn-north-4 3\` deletes the 3 desktops (exit $status)" "$(plain "$pane")"
    fi
    if plain "$pane" | grep -qF "Waiting for jobs:"; then
        fail "the progress line is cleared when the wait ends" "$(plain "$pane")"
    else
        pass "the progress line is cleared when the wait ends"
    fi
else
    fail "\`cn-north-4 3\` deletes the 3 desktops: no prompt" "$(plain "$pane")"
    tmx kill-pane -t "$pane"
fi

pane=$(start "$bin" plan --detailed-exitcode)
status=$(finished "$pane")
if [ "$status" = 0 ] && plain "$pane" | grep -qF "No changes."; then
    pass "the next plan says \`No changes.\`"
else
    fail "the next plan says \`No changes.\` (exit $status)" "$(plain "$pane")"
fi

finish
