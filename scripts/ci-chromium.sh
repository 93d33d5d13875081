#!/usr/bin/env bash
# Debian's chromium (and a small CJK font, so page screenshots show the captions)
# for the search-page test (test/e2e/serve-page.test.ts), which drives it with
# playwright-core: no browser is ever downloaded.
#
#   scripts/ci-chromium.sh     install what is missing (needs root and Debian's apt mirror)
#
# Idempotent: with both installed it changes nothing and needs no root.
set -euo pipefail

PACKAGES=(chromium fonts-wqy-microhei)

log() { printf 'ci-chromium: %s\n' "$*" >&2; }

missing=()
for pkg in "${PACKAGES[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) == *" ok installed" ]] || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  log "$(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  log "error: ${missing[*]} missing; run this script as root (sudo) once to install it"
  exit 1
fi
log "installing ${missing[*]} (apt)"
export DEBIAN_FRONTEND=noninteractive
apt-get -q -o DPkg::Lock::Timeout=300 update >&2
apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends "${missing[@]}" >&2
log "$(/usr/bin/chromium --version 2>/dev/null) ready"
