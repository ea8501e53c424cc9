# Shared by the examples' run.sh scripts: finds the coffer binary, makes a temporary state directory (removed
# on exit), runs commands and checks what they did. Source it first thing in a run.sh:
#
#   source "$(dirname "$0")/../lib.sh"
#
# Environment:
#   COFFER      the coffer binary; when unset, `swift build` runs in the repository and .build/debug/coffer is used
#   VERBOSE=1   print every command's output, not only on a failure
#   KEEP=1      keep the temporary directories (their paths are printed)
#
# In the scripts:
#   coffer ARGS...          runs $COFFER ARGS; never stops the script by itself: the exit status is in RC,
#                           standard output in OUT (and its exact bytes in the file $OUT_FILE until the next
#                           command), standard error in ERR
#   expect_rc N WHAT        the last command exited with N
#   expect_error CODE N WHAT
#                           the last command exited with N and printed error[CODE] (a diagnostic or an error)
#   expect_text TEXT WHAT   the last command printed TEXT (standard output or error)
#   expect_json EXPR VALUE WHAT
#                           the Python expression EXPR, evaluated with d = the JSON the last command printed,
#                           is VALUE (strings as they are, anything else as JSON: true, 3, ["a", "b"])
#   expect_true EXPR WHAT   the Python expression EXPR (with d as above) is true
#   json EXPR               prints EXPR's value (as expect_json compares it)
#   expect_equal A B WHAT   two strings are equal
#   wait_until SECONDS WHAT CMD...
#                           runs CMD until it succeeds; fails after SECONDS
#   fail MESSAGE            stops the example with a message saying which check failed
#   step TITLE, pass TEXT, finish
#                           print a section title, an `ok:` line, and the final PASS line
set -eEuo pipefail

EXAMPLE_DIR=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
EXAMPLE=$(basename "$EXAMPLE_DIR")
EXAMPLES_DIR=$(dirname "$EXAMPLE_DIR")
REPO_ROOT=$(dirname "$EXAMPLES_DIR")

fail() {
    echo "FAIL [$EXAMPLE]: $*" >&2
    if [ -n "${LAST_COMMAND:-}" ]; then
        echo "  last command: $LAST_COMMAND (exit status ${RC:-?})" >&2
        if [ -n "${OUT:-}" ]; then printf '  stdout:\n%s\n' "$(printf '%s\n' "$OUT" | head -n 60 | sed 's/^/    /')" >&2; fi
        if [ -n "${ERR:-}" ]; then printf '  stderr:\n%s\n' "$(printf '%s\n' "$ERR" | head -n 60 | sed 's/^/    /')" >&2; fi
    fi
    exit 1
}

on_error() {
    # Only the script's own shell reports: a failure inside $(...) is reported by the line that used it.
    if [ "$BASH_SUBSHELL" -eq 0 ]; then
        echo "FAIL [$EXAMPLE]: line $1: '$2' exited with status $3" >&2
    fi
}
trap 'on_error "$LINENO" "$BASH_COMMAND" "$?"' ERR

# The coffer binary: $COFFER (a path, absolute or relative to the current directory, or a command name), else
# a debug build of the repository.
if [ -z "${COFFER:-}" ]; then
    echo "[$EXAMPLE] building coffer (set COFFER to use a built binary)" >&2
    (cd "$REPO_ROOT" && swift build --product coffer >&2)
    COFFER="$REPO_ROOT/.build/debug/coffer"
fi
REQUESTED_COFFER=$COFFER
case "$COFFER" in
    */*) COFFER="$(cd "$(dirname "$COFFER")" 2>/dev/null && pwd)/$(basename "$COFFER")" \
        || fail "COFFER: no directory '$(dirname "$REQUESTED_COFFER")'" ;;
    *) COFFER=$(command -v "$COFFER") || fail "COFFER: no command '$REQUESTED_COFFER' on the PATH" ;;
esac
[ -x "$COFFER" ] || fail "COFFER: '$REQUESTED_COFFER' is not an executable"

STATE=$(mktemp -d "${TMPDIR:-/tmp}/coffer-$EXAMPLE-state.XXXXXX")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/coffer-$EXAMPLE-work.XXXXXX")
OUT_FILE="$WORK/.out"
BACKGROUND_PIDS=()

cleanup() {
    local pid
    for pid in "${BACKGROUND_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [ -n "${KEEP:-}" ]; then
        echo "[$EXAMPLE] kept the state directory $STATE and the work directory $WORK" >&2
    else
        rm -rf "$STATE" "$WORK"
    fi
}
trap cleanup EXIT

# Prints a command as a reader would type it: `coffer` for the binary, $STATE and $WORK for the temporary
# directories.
describe() {
    local text="" arg
    for arg in "$@"; do
        arg=${arg//"$COFFER"/coffer}
        arg=${arg//"$STATE"/\$STATE}
        arg=${arg//"$WORK"/\$WORK}
        arg=${arg//"$REPO_ROOT"/.}
        case "$arg" in
            *[[:space:]]*) text+=" '$arg'" ;;
            *) text+=" $arg" ;;
        esac
    done
    printf '%s' "${text# }"
}

# run CMD ARGS...: runs a command with no terminal on its input; sets RC, OUT and ERR.
run() {
    LAST_COMMAND=$(describe "$@")
    echo "\$ $LAST_COMMAND"
    RC=0
    "$@" </dev/null >"$OUT_FILE" 2>"$WORK/.err" || RC=$?
    OUT=$(tr -d '\000' <"$OUT_FILE")
    ERR=$(cat "$WORK/.err")
    if [ -n "${VERBOSE:-}" ]; then
        [ -z "$OUT" ] || printf '%s\n' "$OUT" | sed 's/^/    /'
        [ -z "$ERR" ] || printf '%s\n' "$ERR" | sed 's/^/    /'
    fi
    return 0
}

coffer() {
    run "$COFFER" "$@"
}

pass() {
    echo "  ok: $*"
}

step() {
    echo
    echo "== $*"
}

expect_rc() {
    [ "$RC" -eq "$1" ] || fail "$2: expected exit status $1, got $RC"
    pass "$2 (exit status $1)"
}

expect_text() {
    case "$OUT
$ERR" in
        *"$1"*) pass "$2" ;;
        *) fail "$2: the output does not contain '$1'" ;;
    esac
}

expect_error() {
    [ "$RC" -eq "$2" ] || fail "${3:-refused with $1}: expected exit status $2, got $RC"
    case "$OUT
$ERR" in
        *"[$1]"*) pass "${3:-refused}: $1 (exit status $2)" ;;
        *) fail "${3:-refused with $1}: the output does not name the error code $1" ;;
    esac
}

# json EXPR: the value of a Python expression over d, the JSON document the last command printed.
json() {
    printf '%s' "$OUT" | python3 -c '
import json, sys
try:
    d = json.loads(sys.stdin.read())
except ValueError as error:
    sys.exit("the output is not JSON: %s" % error)
try:
    value = eval(sys.argv[1], {"d": d, "any": any, "all": all, "len": len, "sorted": sorted, "set": set})
except Exception as error:
    sys.exit("%s: %r" % (sys.argv[1], error))
print(value if isinstance(value, str) else json.dumps(value, sort_keys=True))
' "$1"
}

expect_json() {
    local got
    got=$(json "$1" 2>&1) || fail "$3: $got"
    [ "$got" == "$2" ] || fail "$3: $1 is '$got', expected '$2'"
    pass "$3"
}

expect_true() {
    local got
    got=$(json "bool($1)" 2>&1) || fail "$2: $got"
    [ "$got" == "true" ] || fail "$2: $1 is false"
    pass "$2"
}

expect_equal() {
    [ "$1" == "$2" ] || fail "$3: '$1' is not '$2'"
    pass "$3"
}

# wait_until SECONDS WHAT CMD...: runs CMD every 0.2 s until it succeeds; fails after SECONDS.
wait_until() {
    local seconds=$1 what=$2 start=$SECONDS
    shift 2
    until "$@"; do
        if (( SECONDS - start >= seconds )); then
            fail "$what: not within ${seconds}s"
        fi
        sleep 0.2
    done
    pass "$what (after $(( SECONDS - start ))s)"
}

finish() {
    echo
    echo "PASS [$EXAMPLE]"
}
