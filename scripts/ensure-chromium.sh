#!/usr/bin/env bash
# The hall UI's browser tests (tests/web) drive Debian's Chromium through playwright-core.
# Installs it — and a Chinese font, so the screenshots are legible — when missing (apt-get,
# as root or with password-less sudo), and fails when it cannot: the tests must fail, not
# skip, without a browser.
set -euo pipefail

CHROMIUM="${FIELDHALL_CHROMIUM:-/usr/bin/chromium}"
PACKAGES=(chromium fonts-wqy-microhei)

have_font() { command -v fc-list >/dev/null && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; }

if [ -x "$CHROMIUM" ] && have_font; then
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "ensure-chromium: $CHROMIUM or a Chinese font is missing; as root run:" >&2
    echo "  apt-get update && apt-get install -y ${PACKAGES[*]}" >&2
    exit 1
  fi
fi

"${SUDO[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"

if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: $CHROMIUM is still missing after apt-get install" >&2
  exit 1
fi
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null | head -1)"
