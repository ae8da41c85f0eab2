"""``geventhttpclient get``: one request, curl-style, from the command line.

The flags are curl's, with curl's meaning, for the ones people reach for: ``-X``,
``-H``, ``-d``/``--json``, ``-i``, ``-o``, ``-v``, ``-L``, ``--compressed``, ``-k``.
Like curl, the output is the body alone; ``-i`` puts the response head before it
(and ``-v`` shows both heads on stderr). Unlike curl, a final status of 400 or more
makes the exit status 1 (curl needs ``--fail`` for that), so that a script notices.

The body is copied to the output in blocks as it arrives, not read whole first: a
large download starts at once, and a reader that stops early (``| head``) stops
the transfer (the command then exits quietly: see ``__main__``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, BinaryIO, Dict, List, Optional, Tuple

from .._decoding import ACCEPT_ENCODING, decoder_for
from ..client import HTTPClient
from ..url import URL

__all__ = ["add_parser", "CommandError", "DEFAULT_MAX_REDIRECTS"]

DEFAULT_MAX_REDIRECTS = 20
"""``-L`` follows at most this many redirects (``--max-redirs`` changes it): curl's
50 is more than any sane chain, browsers stop at 20."""

BLOCK = 65536
"""The body is read and written in blocks of this size."""

_REDIRECTS = (301, 302, 303, 307, 308)
_TO_GET = (301, 302, 303)
"""After these, a POST (or any method but HEAD) becomes a GET without its body, as
curl (and browsers) do; 307 and 308 send the same method and body again."""


class CommandError(Exception):
    """A usage error found after parsing (an unreadable ``@file``, a malformed
    ``-H``, too many redirects): ``__main__`` prints ``error: <message>``."""


def _read_data(value: str) -> bytes:
    """``-d``/``--json`` data: the text itself, ``@file``'s bytes, or stdin for ``@-``.

    The bytes are sent as they are (curl's ``--data-binary``; plain ``-d @file`` in
    curl drops the file's newlines, which surprises more than it helps).
    """
    if not value.startswith("@"):
        return value.encode("utf-8")
    path = value[1:]
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise CommandError(f"cannot read {path!r}: {exc.strerror}") from exc


def _request_parts(args: argparse.Namespace) -> Tuple[str, List[Tuple[str, str]], Optional[bytes]]:
    """Method, header fields and body from the flags, with curl's defaults: data
    makes a POST, ``-d`` data is a form, ``--json`` data is JSON and asks for JSON.
    A ``-H`` field replaces a default of the same name; ``-H "Name:"`` removes it."""
    headers: List[Tuple[str, str]] = []
    body: Optional[bytes] = None
    if args.json is not None:
        body = b"".join(_read_data(v) for v in args.json)
        headers += [("Content-Type", "application/json"), ("Accept", "application/json")]
    elif args.data is not None:
        body = b"&".join(_read_data(v) for v in args.data)
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    if args.compressed:
        headers.append(("Accept-Encoding", ACCEPT_ENCODING))
    for field in args.header:
        name, sep, value = field.partition(":")
        name = name.strip()
        if not sep or not name:
            raise CommandError(f"-H {field!r}: a header is 'Name: value'")
        headers = [(n, v) for n, v in headers if n.lower() != name.lower()]
        if value.strip():
            headers.append((name, value.strip()))
    method = args.request or ("POST" if body is not None else "GET")
    return method.upper(), headers, body


class _Verbose:
    """``-v``: both heads (``> `` and ``< ``) and connection events (``* ``) on stderr."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.request_head: List[str] = []  # shown when it is sent, after the connect

    def trace(self, name: str, info: Dict[str, Any]) -> None:
        if name == "send_request.started":
            self.head("> ", self.request_head)
        elif name == "connect_tcp.complete":
            address = info.get("remote_address") or ("?", "?")
            self.line(f"* Connected to {address[0]} port {address[1]}")
        elif name == "start_tls.complete":
            resumed = " (resumed)" if info.get("resumed") else ""
            self.line(f"* TLS: {info.get('version')}, {info.get('cipher')}{resumed}")

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")

    def head(self, prefix: str, lines: List[str]) -> None:
        for line in lines:
            self.line(prefix + line)
        self.line(prefix.rstrip())
        self.stream.flush()


def _response_head(response: Any) -> List[str]:
    lines = [f"{response.version} {response.status_code} {response.status_message}"]
    lines += [f"{name}: {value}" for name, value in response.headers.items()]
    return lines


def _output(path: Optional[str]) -> BinaryIO:
    if path is not None and path != "-":
        return open(path, "wb")
    out: Optional[BinaryIO] = getattr(sys.stdout, "buffer", None)
    if out is None:  # pragma: no cover - stdout replaced by a text-only stream
        raise CommandError("stdout takes no bytes here: use -o FILE")
    return out


def _copy_body(response: Any, out: BinaryIO, decode: bool) -> None:
    decoder = decoder_for(response.headers) if decode else None
    while True:
        block = response.read(BLOCK)
        if not block:
            break
        out.write(decoder.decompress(block) if decoder is not None else block)
    if decoder is not None:
        out.write(decoder.finish())


def _cmd_get(args: argparse.Namespace) -> int:
    method, headers, body = _request_parts(args)
    url = URL(args.url)
    verbose = _Verbose(sys.stderr) if args.verbose else None
    out = _output(args.output)
    clients: Dict[Tuple[str, str, Optional[int]], HTTPClient] = {}
    redirects = 0
    try:
        while True:
            key = (url.scheme, url.host, url.port)
            client = clients.get(key)
            if client is None:
                client = clients[key] = HTTPClient.from_url(
                    url,
                    insecure=args.insecure,
                    trace=verbose.trace if verbose is not None else None,
                    proxy=args.proxy,
                    uds=args.unix_socket,
                )
            target = url.quoted_uri
            if verbose is not None:
                head = client._build_request(method, target, body or b"", headers)
                verbose.request_head = head.split("\r\n")[:-2]
            with client.request(method, target, body=body or b"", headers=headers) as response:
                lines = _response_head(response)
                if verbose is not None:
                    verbose.head("< ", lines)
                if args.include:
                    out.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
                location = response.headers.get("Location")
                if args.location and response.status_code in _REDIRECTS and location:
                    response.read()  # the connection goes back for the next hop
                    redirects += 1
                    if redirects > args.max_redirs:
                        raise CommandError(f"maximum ({args.max_redirs}) redirects followed")
                    new_url = url.redirect(location)
                    if (new_url.scheme, new_url.host, new_url.port) != key:
                        # Credentials are for the origin they were given for (curl too).
                        headers = [(n, v) for n, v in headers if n.lower() != "authorization"]
                    url = new_url
                    if response.status_code in _TO_GET and method != "HEAD":
                        if method != "GET" and verbose is not None:
                            verbose.line(f"* {response.status_code}: {method} becomes GET")
                        method, body = "GET", None
                        headers = [(n, v) for n, v in headers if n.lower() != "content-type"]
                    if verbose is not None:
                        verbose.line(f"* Following {response.status_code} to {url}")
                    continue
                if method != "HEAD":
                    _copy_body(response, out, args.compressed)
                out.flush()
                return 0 if response.status_code < 400 else 1
    finally:
        for client in clients.values():
            client.close()
        if out is not getattr(sys.stdout, "buffer", None):
            out.close()


def add_parser(sub: Any) -> None:
    """Add ``get`` to the command line's subparsers (``sub``)."""
    g = sub.add_parser(
        "get",
        help="one request, curl-style: -X -H -d --json -i -o -v -L --compressed -k",
        description="Send one request and write the response body to stdout, as curl "
        "does (-i adds the response head). The flags mean what they mean in curl. "
        "The exit status is 1 when the final status is 400 or more (curl needs --fail "
        "for that), 0 otherwise.",
    )
    g.add_argument("url", help="http:// or https:// URL")
    g.add_argument(
        "-X", "--request", metavar="METHOD", help="the method (default GET, POST with data)"
    )
    g.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a header field, repeatable; replaces a default of the same name, 'NAME:' drops it",
    )
    body = g.add_mutually_exclusive_group()
    body.add_argument(
        "-d",
        "--data",
        action="append",
        metavar="DATA",
        help="POST this body (form Content-Type); @FILE reads a file, @- stdin; "
        "repeated -d are joined with '&'; bytes are sent as they are",
    )
    body.add_argument(
        "--json",
        action="append",
        metavar="DATA",
        help="POST this JSON body with Content-Type and Accept application/json (@FILE, @-)",
    )
    g.add_argument(
        "-i", "--include", action="store_true", help="write the response head before the body"
    )
    g.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    g.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show the request ('> ') and response ('< ') heads and connections ('* ') on stderr",
    )
    g.add_argument("-L", "--location", action="store_true", help="follow redirects")
    g.add_argument(
        "--max-redirs",
        type=int,
        default=DEFAULT_MAX_REDIRECTS,
        metavar="N",
        help=f"with -L, fail after N redirects (default {DEFAULT_MAX_REDIRECTS})",
    )
    g.add_argument(
        "--compressed",
        action="store_true",
        help=f"ask for a compressed body ({ACCEPT_ENCODING}) and write it decoded",
    )
    g.add_argument("-k", "--insecure", action="store_true", help="do not verify TLS certificates")
    g.add_argument(
        "-x",
        "--proxy",
        metavar="URL",
        help="through this proxy: http://, https://, socks5://, socks5h://, socks4://, "
        "socks4a:// (credentials in the URL)",
    )
    g.add_argument(
        "--unix-socket",
        metavar="PATH",
        help="connect to this Unix domain socket instead (the URL still names the host)",
    )
    g.set_defaults(func=_cmd_get)
