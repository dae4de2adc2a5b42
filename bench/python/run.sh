#!/usr/bin/env bash
# Runs bench/python/run.py on the Python async-kernel, each version in its own virtual
# environment under target/python/ (made and filled with pip on first use).
#
#   bash bench/python/run.sh [--quick] [VERSION...]     (VERSION: "newest" or e.g. "0.10.3")
#
# Prints one JSON object per version on stdout (progress goes to stderr). Needs python3 >= 3.11
# with venv and pip, and access to PyPI on first use.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venvs="${CARGO_TARGET_DIR:-$root/target}/python"

quick=()
versions=()
for a in "$@"; do
    case "$a" in
        --quick) quick=(--quick) ;;
        *) versions+=("$a") ;;
    esac
done
[ ${#versions[@]} -eq 0 ] && versions=(newest 0.10.3)

for v in "${versions[@]}"; do
    venv="$venvs/venv-$v"
    if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.installed" ]; then
        echo "making $venv (pip install async-kernel $v)" >&2
        python3 -m venv "$venv" >&2
        if [ "$v" = newest ]; then spec=async-kernel; else spec="async-kernel==$v"; fi
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "$spec" >&2
        touch "$venv/.installed"
    fi
    "$venv/bin/python" "$here/run.py" "${quick[@]}"
done
