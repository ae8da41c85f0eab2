"""``geventhttpclient get``: one request, curl-style, from the command line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..client import HTTPClient
from ..url import URL

__all__ = ["add_parser"]


def _cmd_get(args: argparse.Namespace) -> int:
    url = URL(args.url)
    with HTTPClient.from_url(url, insecure=args.insecure) as client:
        with client.get(url.quoted_uri) as response:
            print(f"{response.version} {response.status_code} {response.status_message}")
            for name, value in response.headers.items():
                print(f"{name}: {value}")
            print()
            body = response.read()
    out = getattr(sys.stdout, "buffer", None)
    if out is not None:
        out.write(body)
        out.flush()
    else:  # pragma: no cover - stdout replaced by a text-only stream
        print(body.decode("utf-8", "replace"), end="")
    return 0 if response.status_code < 400 else 1


def add_parser(sub: Any) -> None:
    """Add ``get`` to the command line's subparsers (``sub``)."""
    g = sub.add_parser("get", help="one GET: print status, headers and body")
    g.add_argument("url")
    g.add_argument("-k", "--insecure", action="store_true", help="do not verify TLS certificates")
    g.set_defaults(func=_cmd_get)
