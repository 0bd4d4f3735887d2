#!/usr/bin/env bash
# Installs the real servers and tools the tests start themselves, where they are missing.
# On Debian/Ubuntu as root (CI, containers) it installs them with apt-get; elsewhere it says
# what to install and fails, so a test run never silently skips what it cannot start.
# Used by `npm test` and by .ci/run.
set -uo pipefail

# command → Debian package
declare -A NEEDED=(
  [redis-server]=redis-server
  [/usr/lib/postgresql/15/bin/initdb]=postgresql
  [nginx]=nginx
  [chromium]=chromium
  [exiftool]=libimage-exiftool-perl
  [ffmpeg]=ffmpeg
  [ffprobe]=ffmpeg
  [convert]=imagemagick
)

have() { if [[ "$1" == /* ]]; then [ -x "$1" ]; else command -v "$1" >/dev/null 2>&1; fi; }

missing=()
for cmd in "${!NEEDED[@]}"; do
  have "$cmd" || missing+=("${NEEDED[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  echo "test-servers: installing ${packages}"
  if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends ${packages}; } >/tmp/mediagate-apt.log 2>&1; then
    exit 0
  fi
  echo "test-servers: apt-get failed (see /tmp/mediagate-apt.log)" >&2
  exit 1
fi

cat >&2 <<EOF
The tests start real servers and tools that are not installed here: ${packages}
  Debian/Ubuntu: sudo apt-get install ${packages}
  macOS (Homebrew): brew install redis postgresql@15 nginx exiftool ffmpeg imagemagick
                    and Chromium (set CHROMIUM_PATH to its binary)
EOF
exit 1
