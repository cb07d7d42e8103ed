#!/usr/bin/env python3
"""What part of an unpacked initramfs belongs to one stack (e.g. its iSCSI initiator).

usage: initramfs-share.py DIR PROGRAMS FILES MODULES
  DIR       the unpacked initramfs
  PROGRAMS  regular expression (searched in paths relative to DIR) for the stack's programs:
            counted, with the shared libraries they load (DT_NEEDED, followed through
            libraries) that no other program or library of the image needs
  FILES     regular expression for its scripts, units and configuration
  MODULES   regular expression for its kernel modules (reported apart)

Prints one line per counted file, "KIND BYTES PATH" (KIND: program, library, file, module),
then "total userspace BYTES" (programs, libraries, files), "total userspace-deflated BYTES"
(each of those files compressed alone with zlib level 9, about what gzip -9 makes of it in
the image) and "total modules BYTES".
Only regular files count (a symbolic link is the file it names, counted once). Needs readelf.
"""
import os
import re
import subprocess
import sys
import zlib


def regular_files(root):
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                yield os.path.relpath(path, root)


def is_elf(path):
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def needed(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    root, programs, files, modules = sys.argv[1], *(re.compile(a) for a in sys.argv[2:])
    everything = sorted(regular_files(root))
    elves = [p for p in everything if not re.search(r"\.ko(\.[a-z0-9]+)?$", p) and is_elf(os.path.join(root, p))]
    # A library is found by its file name, wherever the image keeps it (links resolved).
    by_name = {}
    for folder, _, names in os.walk(root):
        for name in names:
            if ".so" in name:
                real = os.path.relpath(os.path.realpath(os.path.join(folder, name)), os.path.realpath(root))
                if real in elves:
                    by_name.setdefault(name, real)
    dependencies = {p: [by_name[n] for n in needed(os.path.join(root, p)) if n in by_name] for p in elves}

    def closure(starts):
        seen, pending = set(), list(starts)
        while pending:
            path = pending.pop()
            if path not in seen:
                seen.add(path)
                pending.extend(dependencies.get(path, []))
        return seen

    own_programs = {p for p in elves if programs.search(p)}
    own = closure(own_programs)
    others = closure(p for p in elves if p not in own)
    size = lambda p: os.path.getsize(os.path.join(root, p))
    lines, userspace, deflated, module_bytes = [], 0, 0, 0
    for path in everything:
        if path in own_programs:
            kind = "program"
        elif path in own and path not in others:
            kind = "library"
        elif files.search(path):
            kind = "file"
        elif modules.search(path):
            kind = "module"
        else:
            continue
        lines.append(f"{kind} {size(path)} {path}")
        if kind == "module":
            module_bytes += size(path)
        else:
            userspace += size(path)
            with open(os.path.join(root, path), "rb") as f:
                deflated += len(zlib.compress(f.read(), 9))
    print("\n".join(lines))
    print(f"total userspace {userspace}")
    print(f"total userspace-deflated {deflated}")
    print(f"total modules {module_bytes}")


if __name__ == "__main__":
    main()
