#!/usr/bin/env bash
# Runs the kernel's Python tests (jupyter_kernel_test and jupyter_client behaviours) against the
# `async-kernel` binary installed as a kernelspec in a virtual environment under target/, built
# from PyPI on first use. Run from the repository root: `bash kernel/tests/python/run.sh`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../../.."

venv=target/kernel-venv
python=${PYTHON:-python3}
# Pinned: the versions the tests were written against.
packages=(jupyter_client==8.10.0 jupyter_kernel_test==0.7.0 pytest==9.2.0)

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import jupyter_client, jupyter_kernel_test, pytest" 2>/dev/null; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"
fi

# The features CI's test step builds with (`--workspace --all-features`), so nothing is rebuilt.
cargo build --workspace --all-features --bins
target/debug/async-kernel install --prefix "$venv"

# Only this environment's kernelspecs and a private runtime directory.
export JUPYTER_PATH="$PWD/$venv/share/jupyter"
export JUPYTER_DATA_DIR="$PWD/target/jupyter-data"
export JUPYTER_RUNTIME_DIR="$PWD/target/jupyter-runtime"
export JUPYTER_PLATFORM_DIRS=1
"$venv/bin/python" -m pytest -q -p no:cacheprovider kernel/tests/python "$@"
