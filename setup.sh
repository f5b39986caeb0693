#!/usr/bin/env bash
# Set up matfuse on Debian/Ubuntu (or any Linux with Python 3.11): a virtual environment in
# .venv with the pinned dependencies, matfuse itself, and a Chromium the renderer can drive.
# Idempotent: a second run only checks. Set MATFUSE_VENV to put the environment elsewhere.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${MATFUSE_VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' || {
    echo "setup.sh: matfuse needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2
    exit 1
}

stamp="$VENV/.matfuse-lock.sha256"
want=$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip==26.3
    # requirements.lock is the full resolved set (pip install --dry-run --report of pyproject's
    # pins); installing it first makes the install reproducible and skips resolver backtracking.
    "$VENV/bin/python" -m pip install -q -r requirements.lock
    "$VENV/bin/python" -m pip install -q --no-deps -e .
    echo "$want" >"$stamp"
fi

# Chromium for the image modality: Debian's package where apt is available, else Playwright's.
if ! "$VENV/bin/python" -m matfuse.render.browser --check >/dev/null 2>&1; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
    elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
    else
        "$VENV/bin/python" -m playwright install chromium
    fi
fi
echo "matfuse is set up in $VENV"
