"""Credentials as header values, shared by every face (2.6.1's ``geventhttpclient.auth``).

:class:`BasicAuth` turns a user name and password into an ``Authorization: Basic``
value (RFC 7617); :func:`resolve_auth` accepts whatever a caller may pass as ``auth=``
and returns the header value, or ``None``.

Why latin-1 first: RFC 7617 leaves the charset to the server, and servers that
predate the ``charset`` parameter decode ``user:password`` as ISO-8859-1. Credentials
that latin-1 can encode are therefore sent that way; anything else (a code point
above U+00FF) can only be sent as UTF-8, the encoding RFC 7617 names for new servers.
"""

from __future__ import annotations

import base64
from typing import Any, Optional, Tuple, Union

from .exceptions import UnsupportedAuth

__all__ = ["AuthValue", "BasicAuth", "resolve_auth"]


class BasicAuth:
    """HTTP Basic credentials: ``BasicAuth("user", "pass")``.

    ``encoding=None`` picks ISO-8859-1 when it can represent both strings and UTF-8
    otherwise; an explicit ``encoding`` is used as given, and its errors
    (``UnicodeEncodeError``, ``LookupError``) reach the caller unchanged.
    """

    __slots__ = ("_username", "_password", "_encoding", "token")

    def __init__(
        self,
        username: Union[str, bytes],
        password: Union[str, bytes],
        *,
        encoding: Optional[str] = None,
    ) -> None:
        if isinstance(username, bytes) or isinstance(password, bytes):
            # requests accepts bytes and sends them as they are
            raw_user = username if isinstance(username, bytes) else str(username).encode("utf-8")
            raw_pass = password if isinstance(password, bytes) else str(password).encode("utf-8")
            self._username = raw_user.decode("latin-1")
            self._password = raw_pass.decode("latin-1")
            self._encoding = encoding or "utf-8"
            self.token = b"Basic " + base64.b64encode(raw_user + b":" + raw_pass)
            return
        self._username = str(username)
        self._password = str(password)
        pair = f"{self._username}:{self._password}"
        if encoding is None:
            try:
                raw, encoding = pair.encode("iso-8859-1"), "iso-8859-1"
            except UnicodeEncodeError:
                raw, encoding = pair.encode("utf-8"), "utf-8"
        else:
            raw = pair.encode(encoding)
        self._encoding = encoding
        self.token = b"Basic " + base64.b64encode(raw)
        """The whole header value as bytes (``b"Basic dXNlcjpwYXNz"``)."""

    @property
    def username(self) -> str:
        return self._username

    @property
    def password(self) -> str:
        return self._password

    @property
    def encoding(self) -> str:
        """The codec that turned ``user:password`` into bytes."""
        return self._encoding

    def auth_header(self) -> str:
        """The ``Authorization`` header value."""
        return self.token.decode("ascii")

    def __call__(self, request: Any) -> Any:
        """requests' auth protocol: set the header on ``request`` and return it."""
        request.headers["Authorization"] = self.auth_header()
        return request

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BasicAuth):
            return NotImplemented
        return self.token == other.token

    def __hash__(self) -> int:
        return hash(self.token)

    def __repr__(self) -> str:
        # Never the password: reprs end up in logs.
        return f"BasicAuth(username={self._username!r}, encoding={self._encoding!r})"


AuthValue = Union[BasicAuth, Tuple[str, str], str, None]
"""What :func:`resolve_auth` accepts."""


def resolve_auth(auth: AuthValue) -> Optional[str]:
    """The ``Authorization`` value for ``auth``, or ``None`` for no credentials.

    ``auth`` is a :class:`BasicAuth`, a ``(user, password)`` pair, or a ready header
    value (``"Bearer xyz"``), which is passed through.

    :raises UnsupportedAuth: for anything else (a ``NotImplementedError``, 2.x's
        error, and a ``TypeError``, requests').
    """
    if auth is None:
        return None
    if isinstance(auth, BasicAuth):
        return auth.auth_header()
    if isinstance(auth, str):
        return auth
    if isinstance(auth, tuple) and len(auth) == 2:
        return BasicAuth(*auth).auth_header()
    raise UnsupportedAuth(
        f"unsupported auth type {type(auth).__name__}: use BasicAuth, a (user, password) "
        "tuple or a header value string"
    )
