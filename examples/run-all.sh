#!/usr/bin/env bash
# Runs every example (examples/*/run.sh) against one coffer binary and prints a PASS or FAIL line per
# example, then a summary; exits 1 if any failed. The binary is $COFFER, else a debug build made here once.
#   examples/run-all.sh
#   COFFER=.build/debug/coffer examples/run-all.sh
#   VERBOSE=1 examples/run-all.sh     # every example's full output, not only a failed one's
set -euo pipefail
EXAMPLES_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_ROOT=$(dirname "$EXAMPLES_DIR")

if [ -z "${COFFER:-}" ]; then
    echo "run-all: building coffer (set COFFER to use a built binary)" >&2
    (cd "$REPO_ROOT" && swift build --product coffer >&2) || { echo "run-all: the build failed" >&2; exit 1; }
    COFFER="$REPO_ROOT/.build/debug/coffer"
fi
case "$COFFER" in
    */*) COFFER="$(cd "$(dirname "$COFFER")" 2>/dev/null && pwd)/$(basename "$COFFER")" ;;
    *) COFFER=$(command -v "$COFFER") ;;
esac
if [ ! -x "$COFFER" ]; then
    echo "run-all: no coffer binary at '$COFFER'" >&2
    exit 1
fi
export COFFER

LOGS=$(mktemp -d "${TMPDIR:-/tmp}/coffer-examples.XXXXXX")
trap 'rm -rf "$LOGS"' EXIT

passed=()
failed=()
start_all=$SECONDS
for script in "$EXAMPLES_DIR"/*/run.sh; do
    name=$(basename "$(dirname "$script")")
    start=$SECONDS
    if bash "$script" >"$LOGS/$name.log" 2>&1; then
        status=PASS
        passed+=("$name")
    else
        status=FAIL
        failed+=("$name")
    fi
    printf '%-4s  %-22s %3ds\n' "$status" "$name" $(( SECONDS - start ))
    if [ "$status" == FAIL ] || [ -n "${VERBOSE:-}" ]; then
        sed 's/^/      | /' "$LOGS/$name.log"
    fi
done

total=$(( ${#passed[@]} + ${#failed[@]} ))
echo
if [ "$total" -eq 0 ]; then
    echo "run-all: no examples found under $EXAMPLES_DIR" >&2
    exit 1
fi
echo "${#passed[@]} of $total examples passed in $(( SECONDS - start_all ))s${failed[*]:+; failed: ${failed[*]}}"
[ "${#failed[@]}" -eq 0 ]
