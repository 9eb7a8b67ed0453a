#!/usr/bin/env python3
"""Import cycles between the modules (files) of each crate, for `make lint`.

A module here is one source file; an edge A -> B means A names a path into B (`use`, or an
inline `crate::`, `super::`, `self::` or child-module path) outside its test module. Declaring a child
with `mod` is not an edge. The strongly connected components with more than one module are the
cycles; the script prints them, and the breaches of the layer rules in LAYERS, and exits 1 when
there is any (ARCHITECTURE.md: "no import cycle between the modules of a crate").

    python3 infra/dev/module_cycles.py            # every crate of the workspace
    python3 infra/dev/module_cycles.py tenant-api # one crate
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CRATES = ["control-plane", "tenant-api", "provisioning"]

PATH_RE = re.compile(r"(?<![A-Za-z0-9_:])([A-Za-z_][A-Za-z0-9_]*)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_RE = re.compile(r"\buse\s+([^;]+);", re.S)
PUB_USE_RE = re.compile(r"\bpub(?:\([a-z]+\))?\s+use\s+([^;]+);")


def module_of(src: Path, file: Path) -> tuple:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts in (["lib"], ["main"]):
        return ()
    if parts[-1] == "mod":
        parts = parts[:-1]
    return tuple(parts)


def strip(text: str) -> str:
    """Drop comments, string and character literals, and the file's test module (from its
    `#[cfg(test)] mod … {`), so that only code is searched for paths."""
    out, i, n = [], 0, len(text)
    while i < n:
        ch, nxt = text[i], text[i + 1 : i + 2]
        if ch == "/" and nxt == "/":
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif ch == "/" and nxt == "*":
            depth, i = 1, i + 2
            while i < n and depth:
                depth += text.startswith("/*", i) - text.startswith("*/", i)
                i += 2 if text.startswith(("/*", "*/"), i) else 1
        elif ch == "r" and re.match(r'r#*"', text[i:]) and not re.match(r"\w", text[i - 1 : i] or " "):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + len(hashes) + 2)
            i = n if end < 0 else end + 1 + len(hashes)
            out.append('""')
        elif ch == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif ch == "'" and (nxt == "\\" or text[i + 2 : i + 3] == "'"):
            end = text.find("'", i + 2 if nxt != "\\" else i + 3)
            i = n if end < 0 else end + 1
            out.append("' '")
        else:
            out.append(ch)
            i += 1
    code = "".join(out)
    test_module = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", code)
    return code[: test_module.start()] if test_module else code


def expand_use(tree: str) -> list:
    """`a::{b, c::{d as e}}` -> ["a::b", "a::c::d@e"] (enough of the grammar for module paths)."""
    tree = re.sub(r"\s+as\s+", "@", tree)  # `a::b as c` -> `a::b@c`
    tree = re.sub(r"\s+", "", tree)

    def expand(t: str) -> list:
        brace = t.find("{")
        if brace < 0:
            return [t]
        prefix, body = t[:brace], t[brace + 1 : t.rfind("}")]
        items, depth, start = [], 0, 0
        for i, ch in enumerate(body):
            depth += ch == "{"
            depth -= ch == "}"
            if ch == "," and depth == 0:
                items.append(body[start:i])
                start = i + 1
        items.append(body[start:])
        return [p for item in items if item for p in expand(prefix + item)]

    return expand(tree)


def resolve(current: tuple, path: str, modules: set, reexports: dict):
    """The module a path lands in: the longest prefix of it that is a module of the crate, or,
    when the name after that prefix is that module's `pub use` re-export, the module it names."""
    segs = path.split("::")
    head, rest = segs[0], segs[1:]
    if head == "crate":
        base = ()
    elif head == "self":
        base = current
    elif head == "super":
        base = current[:-1]
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif current + (head,) in modules:
        base = current + (head,)  # a child module named without `self::`
    else:
        return None
    full = base + tuple(r for r in rest if r != "self")
    for n in range(len(full), -1, -1):
        if full[:n] in modules:
            module = full[:n]
            if n < len(full) and full[n] in reexports.get(module, {}):
                return reexports[module][full[n]]
            return module
    return None


def graph(crate: str) -> dict:
    src = ROOT / crate / "src"
    files = {module_of(src, f): f for f in sorted(src.rglob("*.rs"))}
    modules = set(files)
    edges = {m: set() for m in modules}
    texts = {m: strip(f.read_text()) for m, f in files.items()}
    # `pub use child::Name;` makes `module::Name` a path into the child, not into the module.
    reexports = {}
    for m, text in texts.items():
        for tree in PUB_USE_RE.findall(text):
            for leaf in expand_use(tree):
                path, _, alias = leaf.partition("@")
                target = resolve(m, path, modules, {})
                if target is not None and target != m:
                    reexports.setdefault(m, {})[alias or path.split("::")[-1]] = target
    for m, text in texts.items():
        paths = []
        for tree in USE_RE.findall(text):
            paths += [leaf.partition("@")[0] for leaf in expand_use(tree)]
        paths += [head + rest for head, rest in PATH_RE.findall(text)]
        for p in paths:
            target = resolve(m, p, modules, reexports)
            if target is not None and target != m:
                edges[m].add(target)
    return edges


def cycles(edges: dict) -> list:
    """Tarjan's strongly connected components with more than one member."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


# Layers: (crate, which modules, what they must not name, why). Checked beside the cycles.
LAYERS = [
    (
        "tenant-api",
        lambda m: m[:1] != ("broker",) and m not in ((), ("routes",), ("openapi",)),
        lambda t: t[:1] == ("broker",),
        "the platform core knows nothing of the broker API; only routes.rs mounts it",
    ),
    (
        "tenant-api",
        lambda m: m[:2] == ("broker", "store"),
        lambda t: t[:1] == ("broker",) and t[:2] != ("broker", "store") and t[:2] not in STORE_MAY_USE,
        "the broker's SQL (store/) depends on data types only, never on HTTP handlers or parsers",
    ),
]
STORE_MAY_USE = {("broker", "names"), ("broker", "pact_document"), ("broker", "model")}


def layer_breaches(crate: str, edges: dict) -> list:
    found = []
    for layer_crate, applies, forbidden, why in LAYERS:
        if layer_crate != crate:
            continue
        for m in sorted(edges):
            bad = sorted(name(t) for t in edges[m] if forbidden(t))
            if applies(m) and bad:
                found.append(f"{name(m)} -> {', '.join(bad)} ({why})")
    return found


def name(m: tuple) -> str:
    return "::".join(m) or "(crate root)"


def main() -> int:
    crates = sys.argv[1:] or CRATES
    failed = False
    for crate in crates:
        edges = graph(crate)
        comps = cycles(edges)
        print(f"{crate}: {len(edges)} modules, {len(comps)} cycle(s)")
        for comp in comps:
            failed = True
            members = set(comp)
            print(f"  cycle of {len(comp)}:")
            for m in comp:
                inside = sorted(name(t) for t in edges[m] if t in members)
                print(f"    {name(m)} -> {', '.join(inside)}")
        for breach in layer_breaches(crate, edges):
            failed = True
            print(f"  layer breach: {breach}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
