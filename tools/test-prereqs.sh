#!/usr/bin/env bash
# test-prereqs.sh readies, before make test, what a contributor's machine may
# lack and a user-level install can give: moto, the AWS emulator the tests
# start, goes into a virtualenv under the cache directory when moto_server
# is not on PATH and the package index answers; otherwise it says exactly
# what to install. It also says, in one line, when the Runtime Interface
# Emulator tests will skip (they need Linux, root and unshare).
#
#   STARFLEET_CACHE   where the virtualenv goes (default ./.cache); make test
#                     puts $STARFLEET_CACHE/bin on PATH
#   MOTO_INDEX_URL    the package index (default https://pypi.org/simple/)
set -euo pipefail

cache=${STARFLEET_CACHE:-$PWD/.cache}
index=${MOTO_INDEX_URL:-https://pypi.org/simple/}

if ! command -v moto_server >/dev/null 2>&1; then
  command -v python3 >/dev/null 2>&1 || {
    echo "make test: python3 is required (with moto: pip install 'moto[server]')" >&2; exit 1; }
  if [ ! -x "$cache/moto/bin/moto_server" ]; then
    if ! python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1].rstrip("/") + "/moto/", timeout=5)' "$index" 2>/dev/null; then
      echo "make test: moto_server (the AWS emulator the tests start) is not on PATH and $index cannot be reached: install it with pip install 'moto[server]' (or pipx install 'moto[server]'), then run make test again" >&2
      exit 1
    fi
    echo "make test: moto_server is not on PATH: installing moto[server] from $index into the virtualenv $cache/moto"
    rm -rf "$cache/moto"
    python3 -m venv "$cache/moto" || {
      echo "make test: python3 -m venv failed: install your Python's venv module (Debian: apt-get install python3-venv)" >&2; exit 1; }
    "$cache/moto/bin/python" -m pip install --quiet --disable-pip-version-check --index-url "$index" 'moto[server]'
  fi
  mkdir -p "$cache/bin"
  ln -sf "$cache/moto/bin/moto_server" "$cache/bin/moto_server"
fi

# The same rule as the e2e tests' emulatorMissing, for the one line.
reason=""
if [ "$(uname -s)" != Linux ]; then
  reason="they need Linux (a private /opt in a mount namespace)"
elif [ "$(id -u)" != 0 ]; then
  reason="they need root (they mount a private /opt, where the emulator looks for extensions)"
elif ! command -v unshare >/dev/null 2>&1; then
  reason="they need unshare (util-linux)"
fi
[ -z "$reason" ] || echo "make test: the Runtime Interface Emulator tests will skip: $reason"
