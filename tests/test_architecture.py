"""The package's floors, read from its source: who may import whom, who touches
sockets, and that no module uses another module's underscored names.

The floors are drawn in README.md ("Architecture"); this test is what keeps the
drawing true. It reads the source with ``ast`` (nothing is imported), so it runs
the same on every interpreter.
"""

from __future__ import annotations

import ast
import pathlib
from typing import Dict, Iterator, List, Set, Tuple

import pytest

import geventhttpclient

PACKAGE = pathlib.Path(geventhttpclient.__file__).parent

# A module may import only modules on lower floors (lazy imports included).
FLOORS: Dict[str, int] = {
    "_version": 0,
    "url": 0,
    "header": 0,
    "timings": 0,
    "_cparser": 0,  # built from csrc/ by build_parser.py
    "exceptions": 1,
    "_tls_in_tls": 1,  # TLS over a TLS socket (to an https:// proxy): stdlib and gevent only
    "_http11": 2,
    "_parser": 2,
    "_decoding": 2,
    "sse": 2,  # the event-stream and line parsers: bytes in, records out
    "_proxies": 2,
    "_net": 2,
    "_dns": 2,
    "auth": 2,
    "_bodies": 3,
    "_policy": 3,
    "_sansio": 3,
    "_connection": 3,
    "_socks": 3,  # the SOCKS 4/4a/5/5h handshakes, on a connected socket
    "connectionpool": 4,
    "response": 5,
    "client": 6,
    "httplib": 6,
    "useragent": 7,
    "httplib2": 7,
    "requests": 8,
    "httpx": 9,
    "api": 9,
    "_cli.localserver": 9,  # the CLI's embedded server: a server, not the client
    "_cli.bench": 9,
    "_cli.get": 9,
    "__init__": 10,
    "__main__": 10,
}

# Only these modules read or write sockets (or wait on one); _net opens them, _socks
# and _tls_in_tls speak a proxy's protocol on a socket _net opened.
SOCKET_IO = {"sendall", "recv_into", "recv", "sendfile", "wait_write", "wait_read", "poll"}
SOCKET_MODULES = {"_net", "_connection", "_socks", "_tls_in_tls"}


def modules() -> Iterator[Tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.glob("*.py")):
        yield path.stem, ast.parse(path.read_text(encoding="utf-8"))


def own_imports(tree: ast.Module) -> Iterator[Tuple[str, List[str], int]]:
    """(module of ours imported, names taken from it, line) for every relative
    import, wherever it is (module level, function, TYPE_CHECKING block)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                yield node.module, [a.name for a in node.names], node.lineno
            else:  # from . import x, y
                for alias in node.names:
                    yield alias.name, [], node.lineno


def test_every_module_has_a_floor():
    assert {name for name, _ in modules()} <= set(FLOORS), "add the new module to FLOORS"


def test_imports_only_go_down_a_floor():
    upward = []
    for name, tree in modules():
        for target, _, line in own_imports(tree):
            if target == "__version__":
                continue  # ``from . import __version__``: the package's own attribute
            if FLOORS[target] >= FLOORS[name]:
                upward.append(f"{name}.py:{line} imports {target}")
    assert not upward, upward  # no upward arrow means no cycle either


def test_no_module_imports_another_modules_private_names():
    found = []
    for name, tree in modules():
        for target, names, line in own_imports(tree):
            for n in names:
                if n.startswith("_") and not n.startswith("__"):
                    found.append(f"{name}.py:{line}: from .{target} import {n}")
    assert not found, found


def _defined_names(tree: ast.Module) -> Set[str]:
    """Underscored names a module defines: functions, classes, assigned names,
    class attributes, attributes it sets on ``self``, ``__slots__`` entries."""
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    names.add(t.id)
                    if t.id == "__slots__" and node.value is not None:
                        names.update(
                            c.value
                            for c in ast.walk(node.value)
                            if isinstance(c, ast.Constant) and isinstance(c.value, str)
                        )
                elif isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name):
                    if t.value.id in ("self", "cls"):
                        names.add(t.attr)
    return names


def test_no_module_reaches_into_another_modules_private_attributes():
    """``obj._name`` where ``_name`` is defined by another module of ours and not by
    this one: a private reach-in. (Other projects' privates, such as gevent's socket
    internals, are not ours to rule on and are documented where used.)"""
    trees = dict(modules())
    defined = {name: _defined_names(tree) for name, tree in trees.items()}
    theirs: Dict[str, Set[str]] = {}
    for name, names in defined.items():
        for n in names:
            theirs.setdefault(n, set()).add(name)
    found = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            attr = node.attr
            if not attr.startswith("_") or attr.startswith("__"):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            if attr in defined[name]:
                continue
            owners = theirs.get(attr, set()) - {name}
            if owners:
                found.append(f"{name}.py:{node.lineno}: {ast.unparse(node)} ({sorted(owners)})")
    assert not found, found


def test_only_net_and_connection_touch_sockets():
    found = []
    for name, tree in modules():
        if name in SOCKET_MODULES:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SOCKET_IO
            ):
                found.append(f"{name}.py:{node.lineno}: {ast.unparse(node.func)}")
    assert not found, found


def test_method_tables_are_defined_once_in_http11():
    """Which methods are idempotent and which carry a body: one table each, in
    ``_http11``; a second copy elsewhere would drift."""
    found = []
    for name, tree in modules():
        if name == "_http11":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Set):  # a table is a set; a tuple may list them all
                words = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if {"POST", "PUT"} <= words or {"GET", "DELETE"} <= words:
                    found.append(f"{name}.py:{node.lineno}: {ast.unparse(node)}")
    assert not found, found


@pytest.mark.parametrize(
    "source, rule",
    [
        ("from ._net import _resolve\n", "private"),
        ("def f(conn):\n    conn.sock.sendall(b'x')\n", "socket"),
    ],
)
def test_the_rules_catch_what_they_are_for(source, rule):
    tree = ast.parse(source)
    if rule == "private":
        assert any(n.startswith("_") for _, names, _ in own_imports(tree) for n in names)
    else:
        calls = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr in SOCKET_IO
        ]
        assert calls
