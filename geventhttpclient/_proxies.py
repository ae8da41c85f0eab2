"""Choosing an HTTP proxy for a URL, the way requests and curl do.

Three sources, in this order: the ``proxies`` mapping given to a request, the one
set on the session, and (unless ``trust_env`` is off) the environment variables
``http_proxy``, ``https_proxy``, ``all_proxy`` and ``no_proxy``. For each variable
the lowercase spelling wins over the uppercase one (curl's rule, which requests and
urllib follow), and ``HTTP_PROXY`` is ignored when ``REQUEST_METHOD`` is set: under
CGI that variable comes from the client's ``Proxy:`` header ("httpoxy").

``no_proxy`` only ever exempts hosts from the *environment's* proxies, as in
requests: a proxy the program names explicitly is used as given.

Proxy URL schemes (:data:`PROXY_SCHEMES`): ``http://`` (absolute-form requests for
http targets, a CONNECT tunnel for https ones), ``https://`` (the same over TLS to
the proxy: TLS in TLS for https targets), ``socks5://`` and ``socks4://`` (the client
resolves the target's name), ``socks5h://`` and ``socks4a://`` (the proxy does). Any
other scheme is refused with :class:`~geventhttpclient.exceptions.InvalidURL` rather
than ignored, which would send the traffic directly.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any, Dict, Mapping, NamedTuple, Optional, Tuple
from urllib.parse import unquote, urlsplit

from .exceptions import InvalidURL

__all__ = [
    "PROXY_SCHEMES",
    "SOCKS_SCHEMES",
    "ProxyConfig",
    "parse_proxy_url",
    "environ_proxies",
    "getenv",
    "bypass_proxy",
    "select_proxy",
]

_ENV_SCHEMES = ("http", "https", "all", "no")

PROXY_SCHEMES: Dict[str, int] = {
    "http": 80,
    "https": 443,
    "socks5": 1080,
    "socks5h": 1080,
    "socks4": 1080,
    "socks4a": 1080,
}
"""The proxy URL schemes we speak, and the port each one defaults to."""

SOCKS_SCHEMES = frozenset({"socks5", "socks5h", "socks4", "socks4a"})

# The dictionary behind os.environ (keys as os.environ encodes them: bytes on POSIX,
# upper-cased str on Windows), to tell with eight C-level look-ups that none of the
# proxy variables is set. os.environ's own methods write through to it, and
# os.putenv() alone is invisible to os.environ (and so to requests) anyway. A
# program that replaces os.environ gets the plain look-ups.
_ENVIRON: Any = os.environ
_ENVIRON_DATA: Any = getattr(_ENVIRON, "_data", None)
_ENVIRON_KEYS: Any = None
_PROXY_KEYS: Tuple[Any, ...] = ()
try:
    if isinstance(_ENVIRON_DATA, dict):
        _ENVIRON_KEYS = _ENVIRON_DATA.keys()
        _PROXY_KEYS = tuple(
            _ENVIRON.encodekey(name)
            for scheme in _ENV_SCHEMES
            for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY")
        )
except (AttributeError, TypeError, UnicodeError):  # not CPython's or PyPy's os._Environ
    _ENVIRON_KEYS = None
if _ENVIRON_KEYS is None:
    _ENVIRON = None  # never the current os.environ: always the plain look-ups


class ProxyConfig(NamedTuple):
    """Where and as whom to connect to a proxy. Hashable: it is part of the key
    under which a session pools its clients, so two proxies (or two sets of
    credentials) never share a connection."""

    host: str
    port: int
    user: Optional[str] = None
    password: Optional[str] = None
    scheme: str = "http"
    """One of :data:`PROXY_SCHEMES` (last, so 2.x-era positional use still works)."""

    def __repr__(self) -> str:  # a password never lands in logs or tracebacks
        auth = f"{self.user}:***@" if self.user is not None else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ProxyConfig({self.scheme}://{auth}{host}:{self.port})"

    @property
    def is_socks(self) -> bool:
        """A SOCKS proxy: the connection is handed over to the origin after a
        handshake; no HTTP request ever goes to the proxy."""
        return self.scheme in SOCKS_SCHEMES

    @property
    def remote_dns(self) -> bool:
        """The proxy resolves the target's name (``socks5h``, ``socks4a``; an HTTP
        proxy always does)."""
        return self.scheme not in ("socks5", "socks4")


def parse_proxy_url(url: str) -> ProxyConfig:
    """The :class:`ProxyConfig` for a proxy URL such as ``http://user:pw@proxy:3128``
    or ``socks5h://127.0.0.1:1080``.

    A URL without a scheme is taken as ``http://`` (requests does the same); the
    port defaults to the scheme's (:data:`PROXY_SCHEMES`: 80, 443, SOCKS 1080).
    Credentials are percent-decoded, so a password with ``@`` or ``:`` in it can be
    given as ``%40`` and ``%3A``.
    """
    text = str(url).strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"invalid proxy URL {_redact(url)!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in PROXY_SCHEMES:
        raise InvalidURL(
            f"unsupported proxy scheme {scheme!r} in {_redact(url)!r}: supported are "
            + ", ".join(f"{s}://" for s in PROXY_SCHEMES)
        )
    if not parts.hostname:
        raise InvalidURL(f"proxy URL {_redact(url)!r} has no host")
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return ProxyConfig(parts.hostname, port or PROXY_SCHEMES[scheme], user, password, scheme)


def _redact(url: Any) -> str:
    text = str(url)
    scheme, sep, rest = text.rpartition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if not at:
        return text
    return f"{scheme}{sep}***@{hostpart}"


def environ_proxies(environ: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """Proxy settings from the environment: keys ``http``, ``https``, ``all``, ``no``.

    Read on every request (as requests does) so a change to ``os.environ`` takes
    effect at once. With none of the variables set (the common case) that costs
    nine look-ups in the dictionary behind ``os.environ``, not a scan of the
    whole environment nor ``os.environ``'s own per-key encoding.
    """
    if environ is None:
        env: Mapping[str, str] = os.environ
        if env is _ENVIRON and _ENVIRON_KEYS.isdisjoint(_PROXY_KEYS):
            return {}
    else:
        env = environ
    cgi = "REQUEST_METHOD" in env
    found: Dict[str, str] = {}
    for scheme in _ENV_SCHEMES:
        value = env.get(f"{scheme}_proxy")
        if value is None and not (cgi and scheme == "http"):
            value = env.get(f"{scheme.upper()}_PROXY")
        if value:
            found[scheme] = value
    return found


def getenv(name: str) -> Optional[str]:
    """``os.environ.get(name)``, read from the dictionary behind it when that is
    possible (one look-up, no ``KeyError`` raised and caught for a variable that
    is not set)."""
    env = os.environ
    if env is not _ENVIRON:
        return env.get(name)
    key = _ENCODED.get(name)
    if key is None:
        key = _ENCODED[name] = env.encodekey(name)
    value = _ENVIRON_DATA.get(key)
    return None if value is None else env.decodevalue(value)


_ENCODED: Dict[str, Any] = {}


def _host_matches(host: str, pattern: str) -> bool:
    pattern = pattern.lower().lstrip("*").lstrip(".")
    if not pattern:
        return False
    return host == pattern or host.endswith("." + pattern)


def bypass_proxy(host: str, port: Optional[int], no_proxy: Optional[str]) -> bool:
    """True if ``no_proxy`` exempts ``host`` (and ``port``) from the environment's proxies.

    ``no_proxy`` is a comma (or space) separated list of: ``*`` (everything), host
    names (matching the name and its subdomains; a leading ``.`` or ``*.`` is
    allowed), IP addresses, CIDR networks (``10.0.0.0/8``), each optionally with
    ``:port``. Names are compared case-insensitively.
    """
    if not no_proxy:
        return False
    host = host.lower().strip("[]")
    try:
        ip: Any = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    for raw in no_proxy.replace(" ", ",").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry_host, entry_port = _split_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        if ip is not None:
            try:
                if ip in ipaddress.ip_network(entry_host, strict=False):
                    return True
            except ValueError:
                pass
            continue
        if _host_matches(host, entry_host):
            return True
    return False


def _split_port(entry: str) -> Tuple[str, Optional[int]]:
    """``host:port``, ``[v6]:port``, a bare IPv6 address or a CIDR network."""
    if entry.startswith("["):
        addr, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return addr, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        if port.isdigit():
            return name, int(port)
    return entry, None


def select_proxy(scheme: str, host: str, proxies: Mapping[str, Any]) -> Tuple[bool, Optional[str]]:
    """The entry of ``proxies`` for a URL: ``(found, value)``.

    Keys are tried most specific first, as in requests: ``scheme://host``,
    ``scheme``, ``all://host``, ``all``. A key that is present with a value of
    ``None`` or ``""`` is found and means "connect directly".
    """
    for key in (f"{scheme}://{host}", scheme, f"all://{host}", "all"):
        if key in proxies:
            value = proxies[key]
            return True, (str(value) if value else None)
    return False, None
