#!/bin/sh
# Print faultline's version: the number in VERSION at the top of the tree, followed by
# "(git COMMIT)" when the tree is a git checkout of its own ("-dirty": tracked files changed).
# The one place the version string is made: the C build (mk/version.mk) and analysis
# (analysis/version.py) both print what this prints.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd -P)
number=$(tr -cd '0-9A-Za-z.+~-' < "$root/VERSION")
top=$(git -C "$root" rev-parse --show-toplevel 2>/dev/null || true)
if [ -n "$top" ] && [ "$(cd "$top" && pwd -P)" = "$root" ]; then
	commit=$(git -C "$root" describe --always --dirty --abbrev=12 --exclude='*' 2>/dev/null || true)
	[ -n "$commit" ] && number="$number (git $commit)"
fi
echo "$number"
