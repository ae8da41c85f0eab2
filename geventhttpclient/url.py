"""The mutable :class:`URL` the client, the pool and the user agent work with.

It keeps the 2.x surface: the :func:`urllib.parse.urlparse` parts (``scheme``,
``path``, ``params``, ``query``, ``fragment``, ``username``/``user``, ``password``,
``hostname``/``host``, ``port``), ``netloc``, ``request_uri`` and ``quoted_uri``,
``str()``/``geturl()`` and ``quoted``, ``redirect``, the urlparse 6-tuple. As in 2.x,
path, params, query and fragment are kept as written (``request_uri`` and ``str()``
give them back unchanged); ``quoted_uri`` and ``quoted`` are the percent-encoded
forms that go on the wire. Absent parts are ``""``, never ``None``.

It parses with its own RFC 3986 splitter instead of :func:`urllib.parse.urlparse`,
for two reasons:

* ``urlparse`` silently deletes tab, CR and LF and strips leading control bytes, so
  ``"http://h/a\\r\\nX: y"`` would quietly become a different URL. A client must
  refuse such input, not repair it: we raise :class:`~geventhttpclient.exceptions.
  InvalidURL` for any control character.
* Every request constructs a URL, so the common all-ASCII case takes one regular
  expression scan and a few ``str.partition`` calls.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Dict, Iterable, Iterator, Mapping, Optional, Tuple, Union
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlencode, urlunparse, urlunsplit

from geventhttpclient.exceptions import InvalidURL

__all__ = [
    "URL",
    "DEFAULT_PORTS",
    "UNIX_SCHEMES",
    "ParamsDataType",
    "requote_uri",
    "UNRESERVED_SET",
    "unquote_unreserved",
    "to_key_val_list",
]

#: Port used when the URL names none. Other schemes get ``port = None``.
DEFAULT_PORTS = {"http": 80, "https": 443}

#: Schemes whose authority is a percent-encoded Unix socket path, as in
#: ``http+unix://%2Fvar%2Frun%2Fdocker.sock/info``.
UNIX_SCHEMES = frozenset({"http+unix", "https+unix"})

ParamsType = Union[Mapping[str, Any], Iterable[Tuple[Any, Any]], str, bytes]
#: The 2.x name of :data:`ParamsType`.
ParamsDataType = ParamsType

# Anything outside this set needs a closer look: controls, space, non-ASCII, and the
# characters RFC 3986 does not allow unescaped ("<>\"{}|\\^`"). One scan of the whole
# string decides whether the slow paths (control check, percent-encoding) run at all.
_UNUSUAL_RE = re.compile(r"[^A-Za-z0-9\-._~!$&'()*+,;=:@/?#%\[\]]")
# C0 controls, DEL and C1 controls: never acceptable anywhere, not even encoded by us,
# because they only ever appear by mistake or as an injection attempt.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# In path, query and fragment: what must be percent-encoded before the URL goes on
# the request line. "[" and "]" are kept (PHP-style "a[]=1" queries), as requests
# and browsers do; a "%" not starting an escape is encoded, a valid escape is kept.
_NEEDS_QUOTE_RE = re.compile(r"[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%\[\]]|%(?![0-9A-Fa-f]{2})")
# The same set without "%": a single character class scans twice as fast as the
# alternation above, and decides the common case (nothing to quote, no escapes) alone.
_QUOTE_FREE_RE = re.compile(r"[^A-Za-z0-9\-._~!$&'()*+,;=:@/?\[\]]")
_LONE_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_QUOTE_SAFE = "!$&'()*+,;=:@/?%[]~"
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*\Z")
# RFC 3986 reg-name (ASCII); IPv4 dotted quads match it too.
_REG_NAME_RE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=%]*\Z")
_HOST_ESCAPE_RE = re.compile(r"(?:[^%]|%[0-9A-Fa-f]{2})*")
_USER_SAFE = "!$&'()*+,;="
_PASSWORD_SAFE = "!$&'()*+,;=:"

_Parts = Tuple[str, Optional[str], str, Optional[str], Optional[str]]


def _check_controls(url: str) -> None:
    """Refuse control characters, surrounding spaces and text that cannot be sent
    as UTF-8 (lone surrogates); only called on the slow path."""
    match = _CONTROL_RE.search(url)
    if match is not None:
        raise InvalidURL(f"control character {match.group()!r} in URL {url!r}")
    if url[:1] == " " or url[-1:] == " ":
        raise InvalidURL(f"leading or trailing space in URL {url!r}")
    try:
        url.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidURL(f"cannot encode {url!r} as UTF-8") from exc


def _requote(part: str) -> str:
    """Percent-encode what may not appear raw in a URI, as UTF-8, keeping valid escapes.

    Existing ``%XX`` escapes are left alone so an already-encoded URL is never
    double-encoded; a ``%`` that starts no escape becomes ``%25``. Reserved
    characters (``/?;=&`` ...) keep their meaning and are not encoded.
    """
    if _QUOTE_FREE_RE.search(part) is None or _NEEDS_QUOTE_RE.search(part) is None:
        return part
    part = _LONE_PERCENT_RE.sub("%25", part)
    try:
        return quote(part, safe=_QUOTE_SAFE)
    except UnicodeEncodeError as exc:  # lone surrogates cannot be UTF-8 encoded
        raise InvalidURL(f"cannot encode {part!r} as UTF-8") from exc


def requote_uri(uri: str) -> str:
    """The percent-encoded form of ``uri`` (2.x helper): characters not allowed in a
    URI are encoded as UTF-8, valid ``%XX`` escapes and reserved characters are kept,
    and a ``%`` that starts no escape becomes ``%25``.

    Raises :class:`InvalidURL` for text that cannot be UTF-8 encoded.
    """
    if "#" not in uri:
        return _requote(uri)
    before, _, fragment = uri.partition("#")
    return _requote(before) + "#" + _requote(fragment)


def _split_params(path: str) -> Tuple[str, str]:
    """Split ``path`` into (path, params): params follow the first ``;`` of the last
    segment, as :func:`urllib.parse.urlparse` has it (RFC 2396's ``;params``)."""
    semicolon = path.find(";", path.rfind("/") + 1)
    if semicolon == -1:
        return path, ""
    return path[:semicolon], path[semicolon + 1 :]


def _split(url: str) -> _Parts:
    """Split into (scheme, authority, path, query, fragment), RFC 3986 appendix B.

    ``authority``, ``query`` and ``fragment`` are ``None`` when the delimiter is
    absent; reference resolution (section 5.2.2) distinguishes "absent" from "empty".
    The scheme is returned as written; nothing is validated beyond the scheme syntax.
    """
    rest, hashmark, fragment = url.partition("#")
    rest, qmark, query = rest.partition("?")
    scheme = ""
    # Fast path for the two schemes nearly every call has (lowercase as written).
    if rest[:7] == "http://":
        scheme, rest = "http", rest[5:]
    elif rest[:8] == "https://":
        scheme, rest = "https", rest[6:]
    else:
        colon = rest.find(":")
        if colon > 0:
            slash = rest.find("/")
            if (slash == -1 or colon < slash) and _SCHEME_RE.match(rest, 0, colon) is not None:
                scheme = rest[:colon]
                rest = rest[colon + 1 :]
    authority: Optional[str] = None
    if rest[:2] == "//":
        end = rest.find("/", 2)
        if end == -1:
            authority, rest = rest[2:], ""
        else:
            authority, rest = rest[2:end], rest[end:]
    return (
        scheme,
        authority,
        rest,
        query if qmark else None,
        fragment if hashmark else None,
    )


def _parse_host(hostport: str, url: str, checked: bool = False) -> Tuple[str, str]:
    """Return (host, port string) from ``host[:port]``; validate and normalise the host.

    IPv6 literals lose their brackets (what ``getaddrinfo`` wants) and are checked
    with :mod:`ipaddress`; a zone identifier written ``%25zone`` (RFC 6874) is kept
    as ``%zone``. Non-ASCII names are IDNA-encoded, everything is lowercased.
    ``checked`` means the caller's scan already proved the URL free of characters
    outside the URI set; a host without ``%`` then needs no further validation.
    """
    if hostport[:1] == "[":
        close = hostport.find("]")
        if close == -1:
            raise InvalidURL(f"unbalanced '[' in host of {url!r}")
        host = hostport[1:close]
        after = hostport[close + 1 :]
        if after and after[0] != ":":
            raise InvalidURL(f"unexpected {after!r} after IPv6 address in {url!r}")
        address, percent, zone = host.partition("%")
        if percent:
            zone = unquote(zone[2:]) if zone[:2] == "25" else zone
            if not zone:
                raise InvalidURL(f"empty IPv6 zone identifier in {url!r}")
        try:
            ipaddress.IPv6Address(address)
        except ValueError as exc:
            raise InvalidURL(f"invalid IPv6 address {host!r} in {url!r}") from exc
        host = address.lower() + "%" + zone if percent else address.lower()
        return host, after[1:]
    host, _, port = hostport.partition(":")
    if "[" in hostport or "]" in hostport:
        raise InvalidURL(f"unbalanced brackets in host of {url!r}")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidURL(f"cannot IDNA-encode host {host!r} of {url!r}") from exc
    elif checked and "%" not in host:
        return host.lower(), port
    if _REG_NAME_RE.match(host) is None or (
        "%" in host and _HOST_ESCAPE_RE.fullmatch(host) is None
    ):
        raise InvalidURL(f"invalid host {host!r} in {url!r}")
    return host.lower(), port


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, done on the list of segments rather than the string."""
    if "." not in path:
        return path
    segments = path.split("/")
    output: list[str] = []
    for segment in segments:
        if segment == ".":
            continue
        if segment == "..":
            if output:
                output.pop()
            continue
        output.append(segment)
    if path[:1] == "/" and (not output or output[0]):
        output.insert(0, "")
    if segments[-1] in (".", ".."):
        output.append("")
    return "/".join(output)


def _encode_params(params: ParamsType) -> str:
    """Encode ``params`` (mapping or pairs) as ``application/x-www-form-urlencoded``.

    A value that is a list or tuple gives one pair per element; ``None`` values are
    skipped (both as in 2.x and requests). A string is taken as an already-built query
    and appended as written (``quoted_uri`` encodes it, as 2.x).
    """
    if isinstance(params, str):
        return params
    if isinstance(params, (bytes, bool, int)):
        raise ValueError("params must be a mapping or an iterable of 2-tuples")
    items = params.items() if isinstance(params, Mapping) else params
    pairs: list[Tuple[Any, Any]] = []
    for key, value in items:
        if isinstance(value, (list, tuple)):
            pairs.extend((key, v) for v in value if v is not None)
        elif value is not None:
            pairs.append((key, value))
    return urlencode(pairs)


_URLParts = Tuple[str, str, Optional[int], str, str, str, str, str, str]
"""scheme, host, port, user, password, path, params, query, fragment."""
_PARSED: Dict[str, _URLParts] = {}
"""Parts of URLs parsed before (without credentials: those are not kept past the
call). An agent parses the same few URLs on every call; parsing is the costly
part of making a :class:`URL`, assigning nine parts is not."""
_PARSED_SIZE = 256


def _parse_parts(url: str) -> _URLParts:
    """The parts of ``url`` in :data:`_URLParts` order; raises :class:`InvalidURL`."""
    unusual = _UNUSUAL_RE.search(url) is not None
    if unusual:
        _check_controls(url)
    scheme, authority, path, query, fragment = _split(url)
    scheme = scheme.lower()
    host = user = password = ""
    port: Optional[int] = None
    if authority is not None:
        userinfo, at, hostport = authority.rpartition("@")
        if " " in authority:
            raise InvalidURL(f"space in the authority of {url!r}")
        if at:
            user, colon, password = userinfo.partition(":")
            user = unquote(user)
            password = unquote(password)
        if scheme in UNIX_SCHEMES:
            # The authority is a percent-encoded socket path (requests-unixsocket's
            # convention): kept as written, case and all, never split at a colon.
            host, port_str = hostport, ""
        else:
            host, port_str = _parse_host(hostport, url, not unusual)
        if port_str:
            if not (port_str.isdigit() and port_str.isascii()):
                raise InvalidURL(f"invalid port {port_str!r} in {url!r}")
            port = int(port_str)
            if port > 65535:
                raise InvalidURL(f"port {port} out of range in {url!r}")
    if port is None:
        port = DEFAULT_PORTS.get(scheme)
    if not host and scheme in DEFAULT_PORTS:
        raise InvalidURL(f"no host in {scheme} URL {url!r}")
    if ";" in path:
        path, params = _split_params(path)
    else:
        params = ""
    return (scheme, host, port, user, password, path, params, query or "", fragment or "")


class URL:
    """A parsed, mutable URL: the request target and the connection coordinates.

    >>> url = URL("https://user:pw@Example.COM:8443/a b/c;v=1?x=1#top")
    >>> url.scheme, url.host, url.port, url.path, url.params, url.query, url.fragment
    ('https', 'example.com', 8443, '/a b/c', 'v=1', 'x=1', 'top')
    >>> url.request_uri, url.quoted_uri, url.netloc
    ('/a b/c;v=1?x=1', '/a%20b/c;v=1?x=1', 'example.com:8443')

    Path, params, query and fragment are stored as written (2.x): ``request_uri``
    and ``str()`` return them unchanged, ``quoted_uri`` and ``quoted`` percent-encode
    what a request line cannot carry (non-ASCII as UTF-8). The host is lowercased
    and IDNA-encoded; user and password are percent-decoded.

    ``query`` is the query string without ``?`` (as in 2.x); ``url[key]``,
    ``url.get(key)`` and ``url[key] = value`` read and set single parameters.
    Attributes can be assigned; they are not re-validated then (as in 2.x).
    ``params`` is urlparse's field (what follows ``;`` in the last path segment):
    assigning ``path`` leaves it alone, as ``ParseResult._replace(path=...)`` does.
    """

    __slots__ = (
        "scheme",
        "host",
        "port",
        "path",
        "params",
        "query",
        "fragment",
        "user",
        "password",
    )

    #: Extra characters left unencoded in values set through ``url[key] = value``.
    quoting_safe = ""

    scheme: str
    host: str
    port: Optional[int]
    path: str
    params: str
    query: str
    fragment: str
    user: str
    password: str

    def __init__(self, url: Union[str, URL, None] = "", params: Optional[ParamsType] = None):
        """Parse ``url``; ``params`` (a mapping, pairs or a query string) are appended
        to its query, form-encoded.

        Also accepts another :class:`URL` (copied) and the tuples of
        :func:`urllib.parse.urlparse` and :func:`~urllib.parse.urlsplit` (2.x took a
        ``ParseResult``). Raises :class:`InvalidURL` for URLs that cannot be used
        (control characters, bad host or port, an http(s) URL without a host) and
        ``TypeError`` for other types.
        """
        if isinstance(url, str):
            self._parse(url)
        elif isinstance(url, URL):
            for name in URL.__slots__:
                setattr(self, name, getattr(url, name))
        elif url is None:
            self._parse("")
        elif (
            isinstance(url, tuple)
            and len(url) in (5, 6)
            and all(isinstance(part, str) for part in url)
        ):
            self._parse(urlunparse(url) if len(url) == 6 else urlunsplit(url))
        else:
            raise TypeError(f"URL() expects a str, not {type(url).__name__}")
        if params:
            encoded = _encode_params(params)
            if encoded:
                self.query = self.query + "&" + encoded if self.query else encoded

    def _parse(self, url: str) -> None:
        parts = _PARSED.get(url)
        if parts is None:
            parts = _parse_parts(url)
            if not (parts[3] or parts[4]):
                if len(_PARSED) >= _PARSED_SIZE:
                    _PARSED.clear()
                _PARSED[url] = parts
        (
            self.scheme, self.host, self.port, self.user, self.password,
            self.path, self.params, self.query, self.fragment,
        ) = parts  # fmt: skip

    # -- derived views --------------------------------------------------------------

    @property
    def username(self) -> str:
        """The user name, percent-decoded (2.x and urlparse name of :attr:`user`)."""
        return self.user

    @username.setter
    def username(self, value: str) -> None:
        self.user = value

    @property
    def hostname(self) -> str:
        """The host, lowercased (2.x and urlparse name of :attr:`host`)."""
        return self.host

    @hostname.setter
    def hostname(self, value: str) -> None:
        self.host = value

    def _host_for_netloc(self) -> str:
        host = self.host
        if ":" in host:
            return "[" + host.replace("%", "%25") + "]"
        return host

    @property
    def netloc(self) -> str:
        """``host[:port]`` for the ``Host`` header: IPv6 bracketed, default port omitted.

        Unlike urlparse's ``netloc``, never the credentials: this value is sent.
        """
        port = self.port
        if port is None or DEFAULT_PORTS.get(self.scheme) == port:
            return self._host_for_netloc()
        return self._host_for_netloc() + ":" + str(port)

    def full_netloc(self, auth: bool = True) -> str:
        """The authority as written back into ``str(url)``: with credentials if ``auth``."""
        netloc = self.netloc
        if auth and (self.user or self.password):
            userinfo = quote(self.user, safe=_USER_SAFE)
            if self.password:
                userinfo += ":" + quote(self.password, safe=_PASSWORD_SAFE)
            return userinfo + "@" + netloc
        return netloc

    @property
    def query_string(self) -> str:
        """The query without ``?`` (2.x name; the same as ``query``)."""
        return self.query

    @property
    def request_uri(self) -> str:
        """Origin-form request target, as written: ``path[;params][?query]``.

        An empty path gives ``/`` (RFC 9112 section 3.2.1). Use :attr:`quoted_uri`
        for the request line: this form may hold spaces or non-ASCII text.
        """
        target = self.path + ";" + self.params if self.params else self.path
        query = self.query
        if query:
            return (target or "/") + "?" + query
        return target or "/"

    @property
    def quoted_uri(self) -> str:
        """:attr:`request_uri`, percent-encoded for the request line (2.x, since 2.3.4).

        Raises :class:`InvalidURL` if an assigned part cannot be UTF-8 encoded.
        """
        # request_uri inlined: this runs once per request sent by the user agent.
        params = self.params
        target = self.path + ";" + params if params else self.path
        query = self.query
        if query:
            target = (target or "/") + "?" + query
        elif not target:
            return "/"
        if _QUOTE_FREE_RE.search(target) is None:
            return target
        return _requote(target)

    @property
    def quoted(self) -> str:
        """``str(url)`` percent-encoded (2.x): what may be sent, e.g. to a proxy."""
        return self._compose(_requote)

    def geturl(self) -> str:
        """The URL as a string, the same as ``str(url)`` (urlparse's name, as 2.x)."""
        return self._compose(None)

    def __iter__(self) -> Iterator[str]:
        """The :func:`urllib.parse.urlparse` 6-tuple, so ``urlunparse(tuple(url))`` works."""
        return iter(
            (self.scheme, self.full_netloc(), self.path, self.params, self.query, self.fragment)
        )

    def _compose(self, quote_part: Any) -> str:
        """The URL as text; ``quote_part`` (if given) encodes path, query and fragment."""
        parts = []
        if self.scheme:
            parts.append(self.scheme + ":")
        if self.host or self.user or self.password:
            parts.append("//" + self.full_netloc())
        path = self.path + ";" + self.params if self.params else self.path
        query = "?" + self.query if self.query else ""
        if quote_part is not None:
            path, query = quote_part(path), quote_part(query)
        parts.append(path)
        parts.append(query)
        if self.fragment:
            parts.append("#" + (quote_part(self.fragment) if quote_part else self.fragment))
        return "".join(parts)

    def __str__(self) -> str:
        return self._compose(None)

    def __repr__(self) -> str:
        # Same shape as 2.x, but a password never lands in logs or tracebacks.
        if self.password:
            masked = self.__copy__()
            masked.password = "***"
            return f"URL({masked})"
        return f"URL({self})"

    def __eq__(self, other: object) -> bool:
        """Equal when the string forms are equal; comparing with a ``str`` works (2.x)."""
        if isinstance(other, (URL, str)):
            return str(self) == str(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like 2.x

    def __copy__(self) -> URL:
        clone = URL.__new__(type(self))
        for name in URL.__slots__:
            setattr(clone, name, getattr(self, name))
        return clone

    copy = __copy__

    def stripped_auth(self) -> URL:
        """A copy without credentials and fragment, e.g. for a proxy's request line."""
        clone = self.__copy__()
        clone.user = clone.password = clone.fragment = ""
        return clone

    # -- query parameters ---------------------------------------------------------------

    def _query_values(self, key: str) -> list[str]:
        values = []
        if self.query:
            for segment in self.query.split("&"):
                name, _, value = segment.partition("=")
                if unquote_plus(name) == key:
                    values.append(unquote_plus(value))
        return values

    def __getitem__(self, key: str) -> Union[str, list[str]]:
        """The decoded value of query parameter ``key``; a list if it occurs repeatedly."""
        values = self._query_values(key)
        if not values:
            raise KeyError(key)
        return values[0] if len(values) == 1 else values

    def get(self, key: str, default: Any = None) -> Any:
        """Like ``url[key]``, but ``default`` when the parameter is absent."""
        values = self._query_values(key)
        if not values:
            return default
        return values[0] if len(values) == 1 else values

    def __setitem__(self, key: str, value: Any) -> None:
        """Set query parameter ``key``, replacing every occurrence (2.x semantics).

        The new pair takes the place of the first old one; other parameters keep their
        exact encoding. A list or tuple value gives one pair per element.
        """
        values = value if isinstance(value, (list, tuple)) else [value]
        safe = self.quoting_safe
        encoded_key = quote_plus(str(key), safe=safe)
        new = [encoded_key + "=" + quote_plus(str(v), safe=safe) for v in values]
        segments = []
        inserted = False
        if self.query:
            for segment in self.query.split("&"):
                if unquote_plus(segment.partition("=")[0]) == key:
                    if not inserted:
                        segments.extend(new)
                        inserted = True
                else:
                    segments.append(segment)
        if not inserted:
            segments.extend(new)
        self.query = "&".join(segments)

    def __delitem__(self, key: str) -> None:
        """Remove every occurrence of query parameter ``key``."""
        if not self.query:
            raise KeyError(key)
        segments = self.query.split("&")
        kept = [s for s in segments if unquote_plus(s.partition("=")[0]) != key]
        if len(kept) == len(segments):
            raise KeyError(key)
        self.query = "&".join(kept)

    # -- navigation -----------------------------------------------------------------

    def append_to_path(self, value: str) -> str:
        """Append ``value`` to the path with exactly one ``/`` between them (2.x).

        Returns the new path (with its ``;params``, which move to the new last segment).
        """
        path = self.path + ";" + self.params if self.params else self.path
        if path.endswith("/"):
            path += value[1:] if value.startswith("/") else value
        else:
            path += value if value.startswith("/") else "/" + value
        self.path, self.params = _split_params(path)
        return path

    def redirect(self, location: Union[str, URL]) -> URL:
        """Resolve a ``Location`` against this URL (RFC 3986 section 5.2), as a new URL.

        The non-strict variant of section 5.2.2 is used: ``"http:g"`` against an http
        base is read as the relative ``"g"``, as browsers and ``urljoin`` do, rather
        than as an http URL without a host. As in 2.x and RFC 3986, the fragment
        is the location's own: this URL's fragment is not carried over.
        """
        ref = str(location) if isinstance(location, URL) else location
        if not isinstance(ref, str):
            raise TypeError(f"redirect() expects a str or URL, not {type(ref).__name__}")
        if _UNUSUAL_RE.search(ref) is not None:
            _check_controls(ref)
        r_scheme, r_authority, r_path, r_query, r_fragment = _split(ref)
        if r_scheme.lower() == self.scheme and r_authority is None:
            r_scheme = ""
        if r_scheme:
            scheme, authority = r_scheme, r_authority
            path, query = _remove_dot_segments(r_path), r_query
        else:
            scheme = self.scheme
            if r_authority is not None:
                authority, path, query = r_authority, _remove_dot_segments(r_path), r_query
            else:
                authority = self.full_netloc() if self.host else None
                base_path = self.path + ";" + self.params if self.params else self.path
                if not r_path:
                    path = base_path
                    query = r_query if r_query is not None else self.query
                else:
                    if r_path[:1] == "/":
                        path = _remove_dot_segments(r_path)
                    elif authority is not None and not base_path:
                        path = _remove_dot_segments("/" + r_path)
                    else:
                        base_dir = base_path[: base_path.rfind("/") + 1]
                        path = _remove_dot_segments(base_dir + r_path)
                    query = r_query
        target = scheme + ":" if scheme else ""
        if authority is not None:
            target += "//" + authority
        target += path
        if query:
            target += "?" + query
        if r_fragment:
            target += "#" + r_fragment
        return type(self)(target)


# -- 2.x's helpers (from requests' utils, which 2.x carried) -------------------------

UNRESERVED_SET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
"""RFC 3986 2.3's unreserved characters."""


_ESCAPE = re.compile(r"%(..)", re.DOTALL)


def unquote_unreserved(uri: str) -> str:
    """``uri`` with percent-escapes of unreserved characters decoded (``%7E`` ->
    ``~``) and every other escape left as it is.

    :raises InvalidURL: for a ``%`` followed by two letters or digits that are not
    hex (a lone or short ``%`` is left alone).
    """

    def decode(match: re.Match[str]) -> str:
        code = match.group(1)
        if not code.isalnum():
            return match.group(0)
        try:
            char = chr(int(code, 16))
        except ValueError:
            raise InvalidURL(f"bad percent-escape %{code} in {uri!r}") from None
        return char if char in UNRESERVED_SET else match.group(0)

    return _ESCAPE.sub(decode, uri)


def to_key_val_list(value: Any) -> Optional[list]:  # type: ignore[type-arg]
    """``value`` (a mapping or key/value pairs) as a list of pairs; None for None.

    :raises ValueError: for a str, bytes or number, which hold no pairs.
    """
    if value is None:
        return None
    if isinstance(value, (str, bytes, int)):  # bool is an int
        raise ValueError(f"expected a mapping or key/value pairs, not {type(value).__name__}")
    return list(value.items() if isinstance(value, Mapping) else value)
