#!/usr/bin/env bash
# Install a Debian package the tests need (chromium, tesseract-ocr, postgresql) where apt is available, loudly.
#
#   scripts/system-package.sh COMMAND STAMP LOG CONSEQUENCE PACKAGE...
#
# COMMAND is a name looked up on PATH, or a path pattern for programs kept off PATH
# (postgresql's /usr/lib/postgresql/*/bin/initdb).
# When COMMAND is on PATH (already, or after `apt-get install PACKAGE...` as root) STAMP is created, and
# `make test` then requires what it provides (a test that needs it fails rather than skips). When it cannot
# be installed, a banner names the cause and CONSEQUENCE (the tests that will be skipped). apt's output goes
# to LOG; its tail is shown when it fails; dpkg's lock is waited for; one retry. Exit status is always 0.
set -u
command_name=$1 stamp=$2 log=$3 consequence=$4
shift 4
found() {  # the COMMAND's path, or nothing
  case $command_name in
    */*) compgen -G "$command_name" | sort -V | tail -n 1 ;;
    *) command -v "$command_name" 2>/dev/null ;;
  esac
}
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 "$@"; }
mkdir -p "$(dirname "$stamp")"
rm -f "$stamp"
if [ -n "$(found)" ]; then touch "$stamp"; exit 0; fi
why=""
if ! command -v apt-get >/dev/null 2>&1; then why="apt-get is not available on this system"
elif [ "$(id -u)" != 0 ]; then why="not root (uid $(id -u)): run 'sudo apt-get install $*' yourself"
else
  for attempt in 1 2; do
    echo "installing $* with apt-get (attempt $attempt of 2; log: $log) ..."
    if { apt_get update && apt_get install -y "$@"; } >"$log" 2>&1 && [ -n "$(found)" ]; then
      echo "installed $(dpkg-query -W -f='${Package} ${Version}  ' "$@" 2>/dev/null)"
      touch "$stamp"; exit 0
    fi
    echo "apt-get failed (attempt $attempt of 2); last lines of $log:"
    tail -n 25 "$log" | sed 's/^/    | /'
    if [ "$attempt" = 1 ]; then sleep 10; fi
  done
  last=$(sed -n 's/^E: //p' "$log" | tail -n 1)
  why="apt-get failed twice: ${last:-no 'E:' line; $command_name not on PATH after install} (log: $log)"
fi
echo "*****************************************************************************"
echo "*** $command_name is NOT installed: $consequence"
echo "*** cause: $why"
echo "*****************************************************************************"
exit 0
