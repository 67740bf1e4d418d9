#!/usr/bin/python3
"""Write a pebblefs disk image (kernel/fs.c) holding the given files.

    mkdisk.py OUT.img FILE...

Sector 0: the superblock ("PEBBLEFS", file count, directory sector); the directory from
sector 1 (32-byte entries: a 24-byte NUL-padded name, first sector, size); then each file in
contiguous sectors."""
import pathlib
import struct
import sys

SECTOR = 512
ENTRY = struct.Struct("<24sII")
SUPER = struct.Struct("<8sII")


def sectors(n):
    return (n + SECTOR - 1) // SECTOR


def image(files):
    dir_sectors = sectors(len(files) * ENTRY.size)
    entries, data, next_sector = [], b"", 1 + dir_sectors
    for path in files:
        body = path.read_bytes()
        name = path.name.encode()
        if len(name) > 24:
            raise SystemExit(f"mkdisk: {path.name}: name longer than 24 bytes")
        entries.append(ENTRY.pack(name, next_sector, len(body)))
        data += body.ljust(sectors(len(body)) * SECTOR, b"\0")
        next_sector += sectors(len(body))
    head = SUPER.pack(b"PEBBLEFS", len(files), 1).ljust(SECTOR, b"\0")
    directory = b"".join(entries).ljust(dir_sectors * SECTOR, b"\0")
    return head + directory + data


def main(argv):
    if len(argv) < 3:
        raise SystemExit("usage: mkdisk.py OUT.img FILE...")
    pathlib.Path(argv[1]).write_bytes(image([pathlib.Path(f) for f in argv[2:]]))


if __name__ == "__main__":
    main(sys.argv)
