#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter (Rasa 3.6.21 needs 3.10), or fail
# with a message that says what to install.
set -euo pipefail
for candidate in "${PYTHON310:-}" "$(command -v python3.10 || true)"; do
  if [ -n "$candidate" ] && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
    echo "$candidate"; exit 0
  fi
done
if command -v pyenv >/dev/null 2>&1; then
  for dir in "$(pyenv root)"/versions/3.10.*; do
    if [ -x "$dir/bin/python3.10" ]; then echo "$dir/bin/python3.10"; exit 0; fi
  done
fi
cat >&2 <<'MSG'
error: Python 3.10 not found. Rasa 3.6.21 (the bot) needs Python 3.10.
Install it, then run make again:
  - Debian/Ubuntu: apt-get install python3.10 python3.10-venv (or the deadsnakes PPA)
  - pyenv: pyenv install 3.10
  - or point PYTHON310=/path/to/python3.10
Alternatively run everything in containers: docker compose up
MSG
exit 1
