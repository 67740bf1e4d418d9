#!/bin/sh
# Install the Debian packages faultline needs, when they are missing.
# Run as root (or with sudo available); otherwise print the command to run.
set -u

PKGS="make gcc libc6-dev qemu-system-misc gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf
libsqlite3-dev sqlite3 libdw-dev libelf-dev libinih-dev python3 python3-pytest python3-jinja2
python3-hypothesis python3-pytest-xdist git patch lcov
qemu-utils libjson-c-dev
clang libclang-rt-14-dev llvm"  # libFuzzer, ASan/UBSan runtimes, llvm-symbolizer (build/fuzz/)
[ "${FAULTLINE_BROWSER_TESTS:-1}" = 1 ] && PKGS="$PKGS chromium"
PKGS="$PKGS python3-yaml python3-jsonschema"  # the CI recipe's test: its YAML, SARIF's schema
PKGS="$PKGS zlib1g-dev"  # the compressed raw logs of runs stored lazily (tracer)

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing missing Debian packages:$missing"
if [ "$(id -u)" = 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo"
else
	echo "deps: not root and no password-less sudo. Run as root:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || { echo "deps: apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
	{ echo "deps: apt-get install failed; run: apt-get install -y$missing" >&2; exit 1; }
echo "deps: done"
