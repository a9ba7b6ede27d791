#!/usr/bin/env bash
# `make demo`: the 60-second tour of xpt on a copy of examples/quickstart.
#
# Copies the example project to a temporary folder, makes it a git repository,
# initialises xpt, reproduces the pipeline, runs three experiments, queues two more and
# runs them two at a time, then prints the experiments table. The folder is kept so you
# can look around in it afterwards.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# XPT may name another DVC-compatible executable (e.g. dvc) to compare behaviour.
XPT="${XPT:-$ROOT/.venv/bin/xpt}"
if [[ ! -x "$XPT" ]]; then
    echo "demo: $XPT not found: run 'make demo' from $ROOT (it builds the virtualenv)" >&2
    exit 1
fi
# Stage commands say `python`: make it the venv's interpreter.
export PATH="$ROOT/.venv/bin:$PATH"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/xpt-demo.XXXXXX")"
CURRENT="setting up"

step() {
    CURRENT="$*"
    printf '\n\033[1m==> %s\033[0m\n' "$*"
}

run() {
    printf '$ %s\n' "$*"
    "$@"
}

on_error() {
    local rc=$?
    printf '\ndemo: FAILED at step "%s" (exit %d); the project is left in %s\n' \
        "$CURRENT" "$rc" "$WORK" >&2
    exit "$rc"
}
trap on_error ERR

step "copy examples/quickstart to $WORK"
cp -R "$ROOT/examples/quickstart/." "$WORK/"
cd "$WORK"

step "make it a git repository"
run git init -q
if [[ -z "$(git config user.name || true)" || -z "$(git config user.email || true)" ]]; then
    echo "(no git identity configured: using a local one for this demo repository)"
    git config user.name "xpt demo"
    git config user.email "demo@example.com"
fi
git config commit.gpgsign false
run git add -A
run git commit -q -m "quickstart project"

step "xpt init: a DVC-compatible project"
run "$XPT" init
run git add -A
run git commit -q -m "xpt init"

step "xpt repro: run the pipeline (prepare -> train)"
run "$XPT" repro
run git add -A
run git commit -q -m "baseline: reproduce the pipeline"

step "three experiments with another learning rate"
for lr in 0.02 0.3 1.0; do
    run "$XPT" exp run -S "train.lr=$lr"
done

step "queue two experiments, then run the queue with two workers"
run "$XPT" exp run --queue -S train.epochs=5
run "$XPT" exp run --queue -S train.epochs=40
run "$XPT" exp run --run-all -j 2

step "xpt exp show"
run "$XPT" exp show --no-pager

trap - ERR
printf '\ndemo: done. The project is in %s (cd there and try `%s exp show`).\n' "$WORK" "$XPT"
