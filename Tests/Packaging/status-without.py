#!/usr/bin/env python3
"""Writes a dpkg status file: the machine's own (standard input) without PACKAGE... and
without every package that then has an unsatisfied Depends or Pre-Depends, so apt sees a
consistent machine that never had them. Tests/Packaging/run.sh uses it to stand in for a
new machine without touching this one.

usage: status-without.py [--config-files PACKAGE] PACKAGE... <status >status.new
  --config-files PACKAGE: that package stays mentioned, as removed with its configuration
  files kept ("deinstall ok config-files"), as dpkg remembers a package it once had.
"""
import re
import sys


def relations(field):
    """[[alternative names]] of a Depends-like field, versions and architectures dropped."""
    groups = []
    for group in field.split(","):
        names = [re.split(r"[\s(:]", alternative.strip(), maxsplit=1)[0] for alternative in group.split("|")]
        names = [name for name in names if name]
        if names:
            groups.append(names)
    return groups


def main():
    stanzas = [stanza for stanza in sys.stdin.read().split("\n\n") if stanza.strip()]
    parsed = []
    for stanza in stanzas:
        fields = dict(re.findall(r"^([A-Za-z-]+):[ \t]*((?:.*)(?:\n[ \t].*)*)", stanza, re.MULTILINE))
        if fields.get("Status", "").endswith(" installed"):
            parsed.append((fields, stanza))
    arguments = sys.argv[1:]
    remembered = None
    if arguments[:1] == ["--config-files"]:
        remembered, arguments = arguments[1], arguments[2:]
    removed = set(arguments) | ({remembered} if remembered else set())
    while True:
        present = set()
        for fields, _ in parsed:
            if fields["Package"] in removed:
                continue
            present.add(fields["Package"])
            present.update(name for group in relations(fields.get("Provides", "")) for name in group)
        broken = {
            fields["Package"]
            for fields, _ in parsed
            if fields["Package"] not in removed
            and any(
                not any(name in present for name in group)
                for key in ("Depends", "Pre-Depends")
                for group in relations(fields.get(key, ""))
            )
        }
        if not broken:
            break
        removed |= broken
    for fields, stanza in parsed:
        if fields["Package"] == remembered:
            kept = [line for line in stanza.strip("\n").split("\n") if re.match(r"(Package|Status|Architecture|Version|Conffiles|Maintainer|Description):| ", line)]
            stanza = "\n".join("Status: deinstall ok config-files" if line.startswith("Status:") else line for line in kept)
            sys.stdout.write(stanza + "\n\n")
        elif fields["Package"] not in removed:
            sys.stdout.write(stanza.strip("\n") + "\n\n")
    print(f"status-without.py: {len(parsed) - len([1 for f, _ in parsed if f['Package'] in removed])} of {len(parsed)} packages kept", file=sys.stderr)


main()
