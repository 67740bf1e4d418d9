#!/bin/sh
# sample-kernel/bugs/build.sh - build the sample kernel with seeded bugs, never touching the
# clean sources: copy sample-kernel/ to BUILD/bugs/<names>/src, apply each named patch there
# (patch -p1 from the repository root), build that copy, and print the ELF's path.
#
#   sample-kernel/bugs/build.sh name[,name...]        -> BUILD/bugs/name[+name...]/kernel.elf
#
# BUILD (default: build) is also where the clean kernel's objects are looked for: when
# present they seed the copy, so only the patched files are recompiled. BUGS_OUT (default:
# BUILD/bugs) is where the patched copies go. Exit 2 on an unknown
# bug or a patch that does not apply, the compiler's status when the copy does not build.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
MAKE=${MAKE:-make}

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 name[,name...]   (names: $(ls sample-kernel/bugs/*.patch 2>/dev/null |
		sed 's#.*/##; s#\.patch$##' | tr '\n' ' '))" >&2
	exit 2
fi
names=$(echo "$1" | tr ',' ' ')
for n in $names; do
	case $n in
	*[!a-z0-9-]*) echo "build.sh: '$n' is not a bug name" >&2; exit 2 ;;
	esac
	if [ ! -f "sample-kernel/bugs/$n.patch" ]; then
		echo "build.sh: no seeded bug '$n' (sample-kernel/bugs/$n.patch)" >&2
		exit 2
	fi
done

out=${BUGS_OUT:-$BUILD/bugs}/$(echo "$1" | tr ',' '+')
src=$out/src
rm -rf "$src" "$out/kernel.elf"
mkdir -p "$src/build"
# the sources and the clean objects keep their times, so make rebuilds only what a patch
# touches (and whatever the clean build had not caught up with)
tar -C . --exclude=sample-kernel/bugs -cf - sample-kernel | tar -C "$src" -xpf -
for d in sample-kernel user; do
	if [ -d "$BUILD/$d" ]; then
		cp -pR "$BUILD/$d" "$src/build/"
	fi
done
for n in $names; do
	if ! patch -p1 -s -N -F1 --no-backup-if-mismatch -r - -d "$src" \
		<"sample-kernel/bugs/$n.patch" >"$out/patch.log" 2>&1; then
		cat "$out/patch.log" >&2
		echo "build.sh: sample-kernel/bugs/$n.patch does not apply" >&2
		exit 2
	fi
done
$MAKE -s -C "$src" -f sample-kernel/kernel.mk BUILD=build build/kernel.elf >&2
cp "$src/build/kernel.elf" "$out/kernel.elf"
echo "$out/kernel.elf"
