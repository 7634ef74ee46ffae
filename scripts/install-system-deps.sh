#!/usr/bin/env bash
# Installs (or, with --check, only checks) the system programs the test suite needs beyond Node:
#   * shellcheck       lints the shipped shell templates
#   * systemd-analyze  verifies the shipped systemd units (Linux only; Debian package: systemd)
#   * script           runs a verb on a pseudo-terminal to test progress output (util-linux/bsdutils)
#   * getfattr/setfacl compare and set xattrs and ACLs in the fidelity tests (attr, acl)
#   * rsync            the fidelity tests' independent comparison (rsync -aHAXSn --numeric-ids -i)
#   * python3          stands in for systemd's notify socket in the sd_notify test
#   * mkfs.ext4, mount make the small loop-mounted file systems of the disk-full tests (Linux)
#   * pg_ctl           a PostgreSQL cluster replicated and started on a snapshot as postgres (postgresql)
#   * mkfs.btrfs       btrfs-progs: the crash-mode tests' loop-mounted btrfs sources (Linux)
#   * sqlite3          the crash-mode tests' application: writes a database, checks the replica
# On Debian and Ubuntu it installs what is missing with apt-get (run it as root, or with sudo);
# elsewhere it says what to install. .ci/run calls it; so can you, once, on a new machine.
set -euo pipefail

check_only=0
case "${1:-}" in
  --check) check_only=1 ;;
  -h | --help)
    sed -n '2,/^set -/s/^# \{0,1\}//p' "$0"
    echo "Usage: ${0##*/} [--check]"
    exit 0
    ;;
  "") ;;
  *) echo "${0##*/}: unknown option \"$1\" (see --help)" >&2; exit 2 ;;
esac

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ((node_major < 20)); then
  echo "${0##*/}: smr needs Node.js 20.19 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# command -> Debian package
declare -A want=([shellcheck]=shellcheck [script]=bsdutils [getfattr]=attr [setfacl]=acl [rsync]=rsync [python3]=python3 [sqlite3]=sqlite3)
if [[ $(uname -s) == Linux ]]; then want[systemd-analyze]=systemd want[mkfs.ext4]=e2fsprogs want[mount]=mount want[mkfs.btrfs]=btrfs-progs; fi
# Debian keeps PostgreSQL's programs off PATH, under its version: checked by that pattern.
if [[ $(uname -s) == Linux ]]; then want['/usr/lib/postgresql/*/bin/pg_ctl']=postgresql; fi

have() {
  if [[ $1 == /* ]]; then compgen -G "$1" >/dev/null; else command -v "$1" >/dev/null 2>&1; fi
}

missing=()
for cmd in "${!want[@]}"; do
  have "$cmd" || missing+=("${want[$cmd]}")
done
((${#missing[@]})) || exit 0

if ((check_only)) || ! command -v apt-get >/dev/null 2>&1; then
  echo "${0##*/}: the tests need these packages: ${missing[*]}" >&2
  if command -v apt-get >/dev/null 2>&1; then
    echo "  install them with: sudo scripts/install-system-deps.sh" >&2
  else
    echo "  install them with your package manager (macOS: brew install shellcheck)" >&2
  fi
  exit 1
fi
if ((EUID != 0)); then
  echo "${0##*/}: installing ${missing[*]} needs root: sudo $0" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "${0##*/}: installed ${missing[*]}"
