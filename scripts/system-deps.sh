#!/usr/bin/env bash
# System packages the tests need: Debian's Chromium (Playwright's own browser download
# does not work on these machines), pinned fonts for deterministic screenshots,
# SpamAssassin for the spam-score gate and HTML Tidy (tidy-html5) for the html-tidy gate.
# Installs only what is missing, only as root.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || need+=(fonts-dejavu-core)
dpkg -s fonts-liberation >/dev/null 2>&1 || need+=(fonts-liberation)
command -v spamassassin >/dev/null 2>&1 || need+=(spamassassin)
dpkg -s tidy >/dev/null 2>&1 || need+=(tidy)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing ${need[*]} (install them with apt-get as root)" >&2
  exit 0
fi
echo "system-deps: installing ${need[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
