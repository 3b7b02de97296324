#!/usr/bin/env bash
# Print the path of a Chromium build that differs from the installed one, unpacked (not
# installed) from Debian's packages into .cache/chromium-<version>/: the visual gate is
# then run against a browser other than the one that took the baselines, as a fresh
# machine will meet after Debian moves on. Prints nothing (exit 0) when the repositories
# serve no other build; needs apt-get (apt-get update once first).
set -euo pipefail
cd "$(dirname "$0")/.."
installed=$(dpkg-query -W -f='${Version}' chromium 2>/dev/null || true)
other=$(apt-cache madison chromium 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' \
        | grep -vxF "$installed" | head -n 1 || true)
if [ -z "$other" ]; then
  echo "other-chromium: the repositories serve no build but the installed $installed" >&2
  exit 0
fi
dest=".cache/chromium-$other"
if [ ! -x "$dest/usr/lib/chromium/chromium" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -q "chromium=$other" "chromium-common=$other" >/dev/null 2>&1)
  mkdir -p "$dest"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$dest"; done
  rm -rf "$tmp"
fi
echo "$PWD/$dest/usr/lib/chromium/chromium"
