#!/usr/bin/env bash
# Create bench/.venv-asreview with ASReview from PyPI, kept apart from the project's .venv.
# Usage: bash bench/_asreview_venv.sh   (idempotent: does nothing when asreview already imports)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-asreview"
py="${PYTHON:-python3}"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import asreview" 2>/dev/null; then
  exit 0
fi
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "${ASREVIEW_SPEC:-asreview>=2,<4}"
"$venv/bin/python" -c "import asreview; print('asreview', asreview.__version__)"
