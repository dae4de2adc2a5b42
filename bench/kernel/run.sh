#!/usr/bin/env bash
# Benchmarks the Lua kernel against ipykernel and the Python async-kernel in one run (issue 10).
# Builds our kernel (release), a virtual environment under target/ with the peers from PyPI,
# installs the three kernelspecs there, and runs bench.py. Takes about three minutes; run it on
# a quiet machine. Usage (from anywhere): bash bench/kernel/run.sh [--quick]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

venv=target/bench-kernel-venv
python=${PYTHON:-python3}
packages=(jupyter_client ipykernel async-kernel)

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "${packages[@]}"
fi

cargo build --release -p async-kernel-jupyter --bin async-kernel
target/release/async-kernel install --prefix "$venv" >/dev/null

export JUPYTER_PATH="$PWD/$venv/share/jupyter"
export JUPYTER_DATA_DIR="$PWD/target/jupyter-data"
export JUPYTER_RUNTIME_DIR="$PWD/target/jupyter-runtime"
export JUPYTER_PLATFORM_DIRS=1
"$venv/bin/python" bench/kernel/bench.py --report target/bench-kernel.json "$@"
