#!/usr/bin/env bash
# The hall UI's browser tests (tests/web) drive Debian's Chromium through playwright-core.
# Installs it — with a Chinese font, so the screenshots are legible — when missing (apt-get,
# as root or with password-less sudo), and fails when Chromium cannot be had: the tests must
# fail, not skip, without a browser. A missing font alone only warns.
set -euo pipefail

CHROMIUM="${FIELDHALL_CHROMIUM:-/usr/bin/chromium}"
FONT=fonts-wqy-microhei

have_font() { command -v fc-list >/dev/null && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; }

wanted=()
[ -x "$CHROMIUM" ] || wanted+=(chromium)
have_font || wanted+=("$FONT")
[ ${#wanted[@]} -eq 0 ] && exit 0

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  elif [ -x "$CHROMIUM" ]; then
    echo "ensure-chromium: no Chinese font (apt-get install $FONT): screenshots show boxes" >&2
    exit 0
  else
    echo "ensure-chromium: $CHROMIUM is missing; as root run:" >&2
    echo "  apt-get update && apt-get install -y chromium $FONT" >&2
    exit 1
  fi
fi

"${SUDO[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${wanted[@]}"

if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: $CHROMIUM is still missing after apt-get install" >&2
  exit 1
fi
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null | head -1)"
