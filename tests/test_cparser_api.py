"""The edges of the C parser: the header, the cffi declarations and the Python face.

``csrc/hparser.h`` is the one definition of the parser's API. ``build_parser.py``
restates for cffi the parts the package uses (cffi cannot read the header: it has
``#include``, an X-macro and ``#ifdef``), so these tests hold the restatement to the
header: same struct fields (names, types, order), enum names and values, constants and
prototypes, and exactly the parts the header marks ``[package]``. They also rebuild
the byte-class table of ``hparser.c`` from its rules, and check that the Python face
never writes a field the parser maintains (it calls ``hp_fail`` instead).

Each check is a function that returns its findings, so the tests can also show that
a drift (a changed field type, a reordered enum...) is found.

The header is read with a small reader for the C this project writes (declarations,
object-like and function-like macros), not a general C parser; it fails loudly on
anything it does not understand.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import pytest
from geventhttpclient._cparser import ffi, lib

import geventhttpclient._parser as parser_module
from geventhttpclient._parser import HTTPResponseParser
from geventhttpclient.exceptions import HTTPParseError, UnexpectedResponse

ROOT = Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"
pytestmark = pytest.mark.skipif(
    not (CSRC / "hparser.h").exists(), reason="needs the source tree (csrc/)"
)

TYPE_WORDS = {"int", "char", "short", "long", "unsigned", "signed", "void", "float", "double"}
TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|[A-Za-z_]\w*|\.\.\.|\S')
COMMENT_OR_STRING = re.compile(r'"(?:\\.|[^"\\])*"|/\*.*?\*/|//[^\n]*', re.S)
TAGS = re.compile(r"\[(package|reference)(, in)?\]")


# -- reading C ------------------------------------------------------------------------


def strip_comments(text: str) -> str:
    """Comments become a space; string literals are kept as they are."""
    return COMMENT_OR_STRING.sub(lambda m: m[0] if m[0][0] == '"' else " ", text)


def split_top(text: str, sep: str) -> List[str]:
    """Split at ``sep`` outside parentheses, braces and string literals."""
    parts, depth, start = [], 0, 0
    for m in TOKEN.finditer(text):
        tok = m[0]
        if tok in "({":
            depth += 1
        elif tok in ")}":
            depth -= 1
        elif tok == sep and depth == 0:
            parts.append(text[start : m.start()])
            start = m.end()
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def norm_type(tokens: List[str]) -> str:
    return " ".join(tokens)


def param_types(params: str) -> Tuple[str, ...]:
    """Parameter types without their names: "hp_parser *p, size_t n" -> two types."""
    types = []
    for param in split_top(params, ","):
        toks = TOKEN.findall(param)
        if (
            len(toks) > 1
            and re.fullmatch(r"[A-Za-z_]\w*", toks[-1])
            and toks[-1] not in (TYPE_WORDS | {"const"})
        ):
            toks = toks[:-1]
        types.append(norm_type(toks))
    return tuple(types)


FUNC_PTR = re.compile(r"^(?P<ret>.+?)\(\s*\*\s*(?P<name>\w+)\s*\)\s*\((?P<params>.*)\)$", re.S)
FUNC = re.compile(r"^(?P<ret>.+?)\b(?P<name>\w+)\s*\((?P<params>.*)\)$", re.S)


def fields_of(body: str) -> Tuple[List[Tuple[str, str]], bool]:
    """(name, type) of each member in order, and whether the body ends with ``...``."""
    members, partial = [], False
    for decl in split_top(body, ";"):
        if decl == "...":
            partial = True
            continue
        m = FUNC_PTR.match(decl)
        if m:
            sig = f"{norm_type(TOKEN.findall(m['ret']))} (*)({', '.join(param_types(m['params']))})"
            members.append((m["name"], sig))
            continue
        # "uint32_t a, b, *c": the type, then each name with its own stars
        first, *more = split_top(decl, ",")
        toks = TOKEN.findall(first)
        stars = len(toks) - 1
        while stars > 0 and toks[stars - 1] == "*":
            stars -= 1
        base = toks[:stars]
        for dtoks in [toks[stars:], *map(TOKEN.findall, more)]:
            if not dtoks or not re.fullmatch(r"[A-Za-z_]\w*", dtoks[-1]):
                raise ValueError(f"cannot read member {decl!r}")
            members.append((dtoks[-1], norm_type(base + dtoks[:-1])))
    return members, partial


@dataclass
class Api:
    """The declarations of one C text (the header, or the cffi cdef)."""

    structs: Dict[str, Tuple[List[Tuple[str, str]], bool]] = field(default_factory=dict)
    enums: Dict[str, List[Tuple[str, int]]] = field(default_factory=dict)
    defines: Dict[str, str] = field(default_factory=dict)
    functions: Dict[str, Tuple[str, Tuple[str, ...]]] = field(default_factory=dict)


def expand_macros(code: str, macros: Dict[str, Tuple[List[str], str]]) -> str:
    """Expand calls of function-like macros until none is left (no # or ## needed)."""
    call = re.compile(r"\b(" + "|".join(map(re.escape, macros)) + r")\s*\(") if macros else None
    for _ in range(100):
        m = call.search(code) if call else None
        if m is None:
            return code
        depth, end = 1, m.end()
        for tok in TOKEN.finditer(code, m.end()):  # the closing parenthesis
            depth += {"(": 1, ")": -1}.get(tok[0], 0)
            if depth == 0:
                end = tok.end()
                break
        else:
            raise ValueError(f"unclosed call of {m[1]}")
        params, body = macros[m[1]]
        args = split_top(code[m.end() : end - 1], ",")
        if len(args) != len(params):
            raise ValueError(f"{m[1]} takes {len(params)} arguments, got {args}")
        for p, a in zip(params, args):
            body = re.sub(rf"\b{p}\b", lambda _m, a=a: a, body)
        code = code[: m.start()] + body + code[end:]
    raise ValueError("macro expansion does not end")


def read_api(text: str) -> Api:
    """The declarations in a header, or in cffi cdef text."""
    text = strip_comments(text.replace("\\\n", " "))
    api = Api()
    macros: Dict[str, Tuple[List[str], str]] = {}
    code_lines, skip = [], 0
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            directive = stripped[1:].split()
            if directive[0] in ("ifdef", "if") and "__cplusplus" in stripped:
                skip += 1
            elif directive[0] == "endif" and skip:
                skip -= 1
            m = re.match(r"#\s*define\s+(\w+)(\(([^)]*)\))?\s*(.*)$", stripped)
            if m and m[2]:
                macros[m[1]] = ([p.strip() for p in m[3].split(",")], m[4])
            elif m and m[1] != "HPARSER_H":
                api.defines[m[1]] = m[4].strip()
            continue
        if not skip:
            code_lines.append(line)
    code = expand_macros("\n".join(code_lines), macros)
    for decl in split_top(code, ";"):
        decl = " ".join(decl.split())
        if decl.startswith('extern "Python"'):
            continue
        m = re.fullmatch(r"(typedef )?(struct|enum)( \w+)? \{(.*)\}( \w+)?", decl)
        if m:
            names = [n.strip() for n in (m[3], m[5]) if n]
            if m[2] == "struct":
                for name in names:
                    api.structs[name] = fields_of(m[4])
            else:
                items, value = [], -1
                for item in split_top(m[4], ","):
                    name, _, explicit = item.partition("=")
                    value = int(explicit, 0) if explicit.strip() else value + 1
                    items.append((name.strip(), value))
                for name in names:
                    api.enums[name] = items
            continue
        if re.fullmatch(r"typedef struct \w+ \w+", decl):
            continue
        m = FUNC.match(decl)
        if m is None:
            raise ValueError(f"cannot read declaration {decl!r}")
        api.functions[m["name"]] = (norm_type(TOKEN.findall(m["ret"])), param_types(m["params"]))
    return api


def header_tags(header: str) -> Dict[str, Set[str]]:
    """The marks ``[package]``, ``[reference]`` (and ``in``) by member or constant name,
    taken from the comment that starts on the member's or the #define's line."""
    tags = {}
    for line in header.splitlines():
        m = re.match(
            r"\s*(?:#define\s+(\w+)[^/]*|[^/#]*?\(?\*?\s*(\w+)\)?(?:\(.*\))?;)\s*/\*(.*)", line
        )
        if m:
            t = TAGS.search(m[3])
            if t:
                tags[m[1] or m[2]] = {t[1]} | ({"in"} if t[2] else set())
    return tags


def cdef_text() -> str:
    """build_parser.CDEF, read without running build_parser (which builds an FFI)."""
    tree = ast.parse((ROOT / "build_parser.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "CDEF":
            return ast.literal_eval(node.value)
    raise AssertionError("build_parser.py has no CDEF")


HEADER = (CSRC / "hparser.h").read_text() if (CSRC / "hparser.h").exists() else ""


# -- the checks -----------------------------------------------------------------------


def cdef_mismatches(cdef: str, header: str = HEADER) -> List[str]:
    """How the cffi declarations differ from the header; empty when they agree."""
    h, c, tags = read_api(header), read_api(cdef), header_tags(header)
    problems = []
    for name, (cfields, cpartial) in c.structs.items():
        if name not in h.structs:
            problems.append(f"struct {name} is not in the header")
            continue
        hfields, _ = h.structs[name]
        wanted = [f for f in hfields if "package" in tags.get(f[0], ())]
        if cfields != wanted:
            problems.append(f"struct {name}: cdef has {cfields}, header [package] {wanted}")
        if cpartial != (len(cfields) < len(hfields)):
            problems.append(f"struct {name}: '...;' must stand for the fields left out")
    for name, items in c.enums.items():
        if h.enums.get(name) != items:
            problems.append(f"enum {name}: cdef {items} != header {h.enums.get(name)}")
    for name, value in c.defines.items():
        if name not in h.defines:
            problems.append(f"#define {name} is not in the header")
        elif value != "..." and value != h.defines[name]:
            problems.append(f"#define {name}: cdef {value} != header {h.defines[name]}")
        elif "reference" in tags.get(name, ()):
            problems.append(f"#define {name} is marked [reference] in the header")
    for name, tag in tags.items():
        if "package" in tag and name in h.defines and name not in c.defines:
            problems.append(f"#define {name} is marked [package] but not declared")
    for name, sig in c.functions.items():
        if h.functions.get(name) != sig:
            problems.append(f"{name}: cdef {sig} != header {h.functions.get(name)}")
    for name in h.functions.keys() - c.functions.keys():
        problems.append(f"{name} is in the header but not declared to cffi")
    return problems


def test_the_cffi_declarations_match_the_header() -> None:
    assert cdef_mismatches(cdef_text()) == []


def test_the_header_reader_sees_every_part() -> None:
    """Guards the reader itself: an empty reading would make every comparison pass."""
    h = read_api(HEADER)
    assert {"hp_parser", "hp_settings", "hp_header"} <= h.structs.keys()
    assert h.enums["hp_errno"][0] == ("HP_OK", 0)
    assert h.enums["hp_errno"][-1][0] == "HP_E__COUNT"
    assert h.structs["hp_parser"][0][:2] == [("state", "uint8_t"), ("error", "uint8_t")]
    assert h.functions["hp_execute"] == (
        "int64_t",
        ("hp_parser *", "const hp_settings *", "const char *", "size_t"),
    )
    assert h.defines["HP_F_DONE"] == "0x80u"


@pytest.mark.parametrize(
    "old, new",
    [
        ("uint16_t status_code;", "uint32_t status_code;"),  # a field's type
        ("    uint8_t state;\n    uint8_t error;", "    uint8_t error;\n    uint8_t state;"),
        ("    void *data;\n", ""),  # a [package] field left out
        ("    uint8_t expect;\n", "    uint8_t expect;\n    uint32_t num_headers;\n"),
        ("HP_E_CALLBACK, HP_E_STATUS_LINE", "HP_E_STATUS_LINE, HP_E_CALLBACK"),  # order
        ("HP_S_HEAD, ", "HP_S_HEAD = 1, "),  # a value
        ("#define HP_F_DONE ...", "#define HP_F_DONE 0x40"),
        ("#define HP_F_DONE ...", "#define HP_F_DONE ...\n#define HP_F_TE ..."),
        ("#define HP_F_DONE ...\n", ""),
        ("void hp_fail(hp_parser *p, int code);", "void hp_fail(hp_parser *p, long code);"),
        ("int hp_idle(const hp_parser *p);", "int hp_idle(hp_parser *p);"),
        ("int hp_idle(const hp_parser *p);\n", ""),
        ("    ...;\n} hp_settings;", "} hp_settings;"),
    ],
)
def test_a_drift_between_cdef_and_header_is_found(old: str, new: str) -> None:
    cdef = cdef_text()
    assert old in cdef
    assert cdef_mismatches(cdef.replace(old, new, 1)) != []


def test_the_header_marks_every_public_member() -> None:
    """Each field before "Private." and each flag says who uses it; private fields
    carry no mark (and so can never be declared to cffi)."""
    tags = header_tags(HEADER)
    h = read_api(HEADER)
    body = HEADER[HEADER.index("struct hp_parser {") :]
    private_part = strip_comments(body[body.index("Private.") : body.index("};")])
    private = {name for name, _ in fields_of(private_part)[0]}
    assert "scan" in private
    for struct in ("hp_parser", "hp_settings"):
        for name, _ in h.structs[struct][0]:
            assert (name in tags) != (name in private), name
    for name in h.defines:
        if name.startswith("HP_F_"):
            assert name in tags, name
    assert tags["on_headers_complete"] == {"reference"}
    assert tags["expect"] == {"package", "in"}


# -- errors ---------------------------------------------------------------------------


def errno_map() -> List[Tuple[str, str]]:
    """(name, description) from HP_ERRNO_MAP, in order."""
    text = strip_comments(HEADER.replace("\\\n", " "))
    body = re.search(r"#\s*define HP_ERRNO_MAP\(XX\)(.*)", text)[1]
    return [
        (m[1], "".join(ast.literal_eval(s) for s in re.findall(r'"(?:\\.|[^"\\])*"', m[2])))
        for m in re.finditer(r"XX\(\s*(\w+)\s*,((?:\s*\"(?:\\.|[^\"\\])*\")+)\s*\)", body)
    ]


def test_error_codes_names_and_descriptions_come_from_one_list() -> None:
    errors = errno_map()
    assert errors[0] == ("HP_OK", "success")
    assert len(errors) == lib.HP_E__COUNT
    for code, (name, description) in enumerate(errors):
        assert getattr(lib, name) == code
        assert ffi.string(lib.hp_errno_name(code)).decode() == name
        assert ffi.string(lib.hp_errno_description(code)).decode() == description
    assert ffi.string(lib.hp_errno_name(lib.HP_E__COUNT)) == b"HP_E_UNKNOWN"
    assert ffi.string(lib.hp_errno_name(-1)) == b"HP_E_UNKNOWN"


def new_parser() -> Any:
    p = ffi.new("hp_parser *")
    lib.hp_init(p)
    return p


def test_hp_fail_fails_the_parser_for_good() -> None:
    p = new_parser()
    settings = ffi.new("hp_settings *")
    lib.hp_fail(p, lib.HP_E_CALLBACK)
    assert (p.state, p.error) == (lib.HP_S_ERROR, lib.HP_E_CALLBACK)
    assert lib.hp_execute(p, settings, b"HTTP/1.1 200 OK\r\n\r\n", 19) == 0
    lib.hp_fail(p, lib.HP_E_INCOMPLETE)  # the first error stays
    assert p.error == lib.HP_E_CALLBACK
    assert lib.hp_finish(p, settings) == lib.HP_E_CALLBACK


@pytest.mark.parametrize("code", [0, -1, 255, "HP_E__COUNT"])
def test_hp_fail_with_no_error_code_counts_as_a_callback_error(code: object) -> None:
    p = new_parser()
    lib.hp_fail(p, getattr(lib, code) if isinstance(code, str) else code)
    assert (p.state, p.error) == (lib.HP_S_ERROR, lib.HP_E_CALLBACK)


def test_a_refused_interim_response_fails_the_parser_through_hp_fail() -> None:
    parser = HTTPResponseParser()
    with pytest.raises(UnexpectedResponse):
        parser.feed(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
    assert parser.failed
    with pytest.raises(HTTPParseError) as info:
        parser.feed(b"HTTP/1.1 200 OK\r\n\r\n")
    assert info.value.code == "HP_E_CALLBACK"


# -- Python writes only the inputs ---------------------------------------------------


def parser_field_writes(source: str) -> List[str]:
    """Assignments in ``source`` to an hp_parser field the parser maintains (any field
    not marked ``in``): ``<expr>.field = ...``, ``+=`` and ``setattr``. ``self.field``
    is a Python attribute of the same name (``self.status_code``), not the struct."""
    tags = header_tags(HEADER)
    fields = {n for n, _ in read_api(HEADER).structs["hp_parser"][0]}
    maintained = {n for n in fields if "in" not in tags.get(n, ())}
    found = []
    for node in ast.walk(ast.parse(source)):
        targets: List[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr":
            arg = node.args[1] if len(node.args) > 1 else None
            if isinstance(arg, ast.Constant) and arg.value in maintained:
                found.append(f"line {node.lineno}: setattr(..., {arg.value!r})")
        for target in targets:
            for t in ast.walk(target):
                if (
                    isinstance(t, ast.Attribute)
                    and t.attr in maintained
                    and not (isinstance(t.value, ast.Name) and t.value.id == "self")
                ):
                    found.append(f"line {t.lineno}: {ast.unparse(t)} =")
    return found


def test_python_never_writes_a_field_the_parser_maintains() -> None:
    source = Path(parser_module.__file__).read_text()
    assert parser_field_writes(source) == []
    assert "hp_fail" in source


@pytest.mark.parametrize(
    "line",
    [
        "p.error = lib.HP_E_CALLBACK",
        "self._p.state = lib.HP_S_ERROR",
        "p.flags |= 1",
        "a = self._p.remaining = 0",
        "setattr(p, 'head_len', 0)",
        "p.max_line, p.status_code = 1, 2",
    ],
)
def test_a_write_to_parser_state_is_found(line: str) -> None:
    assert parser_field_writes(line) != []


@pytest.mark.parametrize(
    "line", ["p.expect = 1", "p.max_line = 8192", "p.data = handle", "self.status_code = 200"]
)
def test_inputs_and_python_attributes_may_be_written(line: str) -> None:
    assert parser_field_writes(line) == []


# -- the byte-class table -------------------------------------------------------------

TCHAR_SPECIALS = b"!#$%&'*+-.^_`|~"  # RFC 9110 5.6.2


def expected_byte_classes(classes: Dict[str, int]) -> List[int]:
    """The table from the rules stated above it in hparser.c."""
    table = []
    for b in range(256):
        c = 0
        if chr(b).isascii() and (chr(b).isalnum() or b in TCHAR_SPECIALS):
            c |= classes["C_TCHAR"]
        if b == 0x09 or 0x20 <= b <= 0x7E or b >= 0x80:  # HTAB / SP / VCHAR / obs-text
            c |= classes["C_VALUE"]
        if chr(b) in "0123456789abcdefABCDEF":
            c |= classes["C_HEX"]
        table.append(c)
    return table


def c_initializer(table: List[int]) -> str:
    return "\n".join(
        "    " + " ".join(f"{v}," for v in table[row : row + 16]) + f"  /* 0x{row:02x} */"
        for row in range(0, 256, 16)
    )


def test_the_byte_class_table_follows_its_rules() -> None:
    source = (CSRC / "hparser.c").read_text()
    classes = {m[1]: int(m[2], 16) for m in re.finditer(r"#define (C_\w+) +0x(\w+)u", source)}
    assert set(classes) == {"C_TCHAR", "C_VALUE", "C_HEX"}
    body = re.search(r"byte_class\[256\] = \{(.*?)\};", source, re.S)[1]
    table = [int(v, 0) for v in re.findall(r"\b\w+\b", strip_comments(body))]
    expected = expected_byte_classes(classes)
    assert table == expected, "replace the table in hparser.c with:\n" + c_initializer(expected)


def test_the_byte_class_rules_are_the_rfc_ones() -> None:
    """Spot checks, so the rebuilt table cannot be wrong in the same way as the C."""
    t = expected_byte_classes({"C_TCHAR": 1, "C_VALUE": 2, "C_HEX": 4})
    assert [t[ord(c)] for c in 'a:Z ~\t\x7f\x80\x00"'] == [7, 2, 3, 2, 3, 2, 0, 2, 0, 2]
    assert sum(1 for v in t if v & 1) == 26 * 2 + 10 + len(TCHAR_SPECIALS)
