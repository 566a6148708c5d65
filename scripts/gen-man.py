#!/usr/bin/env python3
"""gen-man.py BERTH_BIN OUTDIR

Man pages from the CLI's own help: berth(1) from `berth --help`, and berth-COMMAND(1) for
every command listed under a "...Commands:" heading of it (and their subcommands, from
`berth COMMAND --help`), so the pages always say what the binary says. The help text is
kept as it is printed (in .nf blocks), under NAME/SYNOPSIS/DESCRIPTION/OPTIONS headings.
"""
import datetime
import os
import re
import subprocess
import sys

BIN, OUT = sys.argv[1], sys.argv[2]
VERSION = subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout.strip()
DATE = datetime.date.today().strftime("%B %Y")


def help_of(args):
    r = subprocess.run([BIN, *args, "--help"], capture_output=True, text=True,
                       env={**os.environ, "BERTH_NO_AUTOSTART": "1", "NO_COLOR": "1"})
    return (r.stdout or r.stderr).strip("\n")


def commands(text):
    """Names listed under '...Commands:' headings: '  name   description'."""
    out, inside = [], False
    for line in text.splitlines():
        if re.match(r"^[A-Za-z ]*Commands:\s*$", line):
            inside = True
            continue
        if inside:
            m = re.match(r"^  ([a-z][a-z0-9-]*)\*?\s{2,}(.*)$", line)
            if m:
                out.append((m.group(1), m.group(2).strip()))
            elif not line.strip():
                inside = False
    return out


def esc(s):
    return s.replace("\\", "\\e").replace("-", "\\-").replace("\n.", "\n\\&.").replace("\n'", "\n\\&'")


def page(name, summary, text, see_also):
    usage = next((l.strip() for l in text.splitlines() if l.strip().startswith("Usage:")), "")
    body = [f'.TH "{name.upper()}" "1" "{DATE}" "{VERSION}" "berth manual"',
            ".SH NAME", f"{esc(name)} \\- {esc(summary)}"]
    if usage:
        body += [".SH SYNOPSIS", ".B " + esc(usage[len('Usage:'):].strip())]
    body += [".SH DESCRIPTION", ".nf", esc(text.strip("\n")), ".fi"]
    if see_also:
        body += [".SH SEE ALSO", ", ".join(f"\\fB{esc(s)}\\fR(1)" for s in see_also)]
    return "\n".join(body) + "\n"


def main():
    os.makedirs(OUT, exist_ok=True)
    top = help_of([])
    cmds = commands(top)
    pages = {"berth": page("berth", "a Docker-compatible container engine", top,
                           [f"berth-{c}" for c, _ in cmds])}
    for c, summary in cmds:
        text = help_of([c])
        subs = commands(text)
        pages[f"berth-{c}"] = page(f"berth-{c}", summary, text,
                                  ["berth"] + [f"berth-{c}-{s}" for s, _ in subs])
        for s, ssum in subs:
            pages[f"berth-{c}-{s}"] = page(f"berth-{c}-{s}", ssum, help_of([c, s]),
                                          ["berth", f"berth-{c}"])
    for name, text in pages.items():
        with open(os.path.join(OUT, name + ".1"), "w") as f:
            f.write(text)
    print(f"gen-man: {len(pages)} pages in {OUT}")


main()
