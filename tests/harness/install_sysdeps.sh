#!/usr/bin/env bash
# Install the Debian packages the real-component tests need (headless Chromium + its driver).
# Idempotent; does nothing when they are present. Needs root (as on CI and the dev machines).
set -euo pipefail
PKGS="chromium chromium-driver"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install_sysdeps: missing$missing and not root; the browser test will fail" >&2
  exit 0
fi
echo "install_sysdeps: apt-get install$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || {
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends $missing >/dev/null
}
