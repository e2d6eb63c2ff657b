# Shared by bin/run and bin/test: create .venv and install the pinned requirements when they change.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

pick_python() {
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Python 3.11 or newer is required" >&2; return 1
}

find_python() {  # find_python 3.12: print a working interpreter of that version, if any
  local version="$1" candidate
  for candidate in "python$version" \
      "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python"$version" \
      /usr/local/bin/python"$version" /usr/bin/python"$version"; do
    # A pyenv shim exists for every installed version but runs only the selected ones.
    if command -v "$candidate" >/dev/null 2>&1 &&
       [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" \
         = "$version" ]; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

ensure_venv() {  # ensure_venv REQUIREMENTS_FILE
  local req="$1" venv="${VENV:-$ROOT/.venv}"
  if [ ! -x "$venv/bin/python" ]; then
    "$(pick_python)" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
  fi
  local stamp="$venv/.installed-$(basename "$req")"
  local digest
  digest="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$digest" > "$stamp"
  fi
  export PATH="$venv/bin:$PATH"
  export VIRTUAL_ENV="$venv"
}
