#!/usr/bin/env python3
"""Reads a .env file by the rules the binaries use (the `dotenvy` crate) and prints it as shell
`export` lines, quoted, for `eval`: the file is data, never run as shell.

  eval "$(python3 infra/dev/dotenv.py .env)"

Like dotenvy: variables already in the environment win; blank lines and `#` lines are skipped;
`export ` before a key is allowed; values are unquoted (ending at whitespace, then only a
`# comment` may follow), 'single-quoted' (literal) or "double-quoted" (with \\ escapes); `$VAR`
and `${VAR}` expand outside single quotes. A line it cannot read stops with its line number.
"""
import os
import re
import shlex
import sys

KEY = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$")


class LineError(Exception):
    pass


def parse_value(raw, known):
    out, name = [], None
    strong = weak = escaped = expecting_end = False
    braced = False

    def flush_name():
        value = os.environ.get(name, known.get(name, ""))
        out.append(value)

    i = 0
    while i < len(raw):
        c = raw[i]
        i += 1
        if expecting_end:
            if c in " \t":
                continue
            if c == "#":
                break
            raise LineError("text after a value (quote values that contain spaces)")
        if escaped:
            mapping = {"\\": "\\", "'": "'", '"': '"', "$": "$", " ": " ", "n": "\n"}
            if c not in mapping:
                raise LineError(f"unknown escape \\{c}")
            out.append(mapping[c])
            escaped = False
        elif strong:
            if c == "'":
                strong = False
            else:
                out.append(c)
        elif name is not None:
            if braced:
                if c == "}":
                    flush_name()
                    name, braced = None, False
                else:
                    name += c
            elif c == "{" and name == "":
                braced = True
            elif c.isalnum():
                name += c
            else:
                flush_name()
                name = None
                i -= 1  # look at this character again
        elif c == "$":
            name = ""
        elif weak:
            if c == '"':
                weak = False
            elif c == "\\":
                escaped = True
            else:
                out.append(c)
        elif c == "'":
            strong = True
        elif c == '"':
            weak = True
        elif c == "\\":
            escaped = True
        elif c in " \t":
            expecting_end = True
        else:
            out.append(c)
    if name is not None:
        if braced:
            raise LineError("unterminated ${")
        flush_name()
    if strong or weak:
        raise LineError("unterminated quote")
    return "".join(out)


def main(path):
    known = {}
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = KEY.match(line)
        try:
            if not match:
                raise LineError("expected KEY=VALUE")
            key, value = match.group(1), parse_value(match.group(2), known)
        except LineError as err:
            sys.exit(f"{path}:{number}: {err}: {line}")
        known.setdefault(key, value)
    for key, value in known.items():
        if key not in os.environ:
            print(f"export {key}={shlex.quote(value)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".env")
