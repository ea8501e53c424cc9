#!/usr/bin/env bash
# Checks for the system packages coffer builds against and installs the missing ones with apt-get when run
# as root; otherwise prints the exact command to run.
set -euo pipefail

# python3-venv: the virtualenv of the Azure SDK suite that `make test` runs (Tests/sdk); postgresql: the
# throwaway server of the shared-state tests (scripts/test-postgres.sh).
packages=(libgit2-dev libssl-dev libsqlite3-dev libyaml-dev libicu-dev pkg-config python3-venv postgresql)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "setup: missing system packages: ${missing[*]}" >&2
    echo "setup: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
