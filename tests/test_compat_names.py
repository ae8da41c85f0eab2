"""Every public name of geventhttpclient 2.6.1's modules is importable here, and the
small helpers among them behave as 2.x's did. (2.6.1's own suite, run by
``tox -e compat``, checks the behaviour of the big ones.)"""

from __future__ import annotations

import importlib
import ssl

import pytest

NAMES = {
    "geventhttpclient": [
        "URL", "BasicAuth", "HTTPClient", "HTTPParseError", "Session", "UserAgent",
        "__version__", "delete", "get", "head", "options", "patch", "post", "put", "request",
    ],
    "geventhttpclient.api": ["ParamsDataType", "Payload", "RequestsResponse"],
    "geventhttpclient.auth": ["AuthValue", "BasicAuth", "resolve_auth"],
    "geventhttpclient.client": [
        "CRLF", "METHOD_GET", "METHOD_TRACE", "HEADER_HOST", "EXPECT_100_CONTINUE",
        "IDEMPOTENT_METHODS", "HTTPClient", "HTTPClientPool", "HTTPConnectionClosed",
        "HTTPParseError", "HTTPResponse", "HeadersDataType", "SSLConnectionPool",
    ],
    "geventhttpclient.connectionpool": [
        "ConnectionPool", "SSLConnectionPool", "DEFAULT_CONNECTION_TIMEOUT",
        "DEFAULT_NETWORK_TIMEOUT", "init_ssl_context",
    ],
    "geventhttpclient.header": ["Headers", "HeadersDataType", "parse_content_type_charset"],
    "geventhttpclient.httplib": ["HTTPConnection", "HTTPSConnection", "HTTPResponse",
                                 "HTTPLibHeaders", "patch", "patched"],
    "geventhttpclient.httpx": [
        "Client", "Response", "HTTPError", "RequestError", "TimeoutException", "ConnectError",
        "HTTPStatusError", "CompatRequest", "FilesInput", "HeadersDataType", "ParamsDataType",
        "Payload", "RequestsResponse", "resolve_auth",
    ],
    "geventhttpclient.requests": [
        "Session", "RequestsResponse", "RequestsRequest", "HTTPSocketResponse",
        "HeadersDataType", "ParamsDataType", "parse_content_type_charset", "resolve_auth",
    ],
    "geventhttpclient.response": [
        "HTTPResponse", "HTTPSocketResponse", "HTTPSocketPoolResponse", "HTTPConnectionClosed",
        "HTTPProtocolViolationError", "HTTPResponseParser", "HEADER_STATE_INIT",
        "HEADER_STATE_FIELD", "HEADER_STATE_VALUE", "HEADER_STATE_DONE",
    ],
    "geventhttpclient.url": ["URL", "ParamsDataType", "UNRESERVED_SET", "requote_uri",
                             "to_key_val_list", "unquote_unreserved"],
    "geventhttpclient.useragent": [
        "UserAgent", "CompatRequest", "CompatResponse", "ConnectionError", "RetriesExceeded",
        "BadStatusCode", "EmptyResponse", "CookieJarLike", "FilesInput", "HTTPSocketResponse",
        "HeadersDataType", "ParamsDataType", "Payload", "REDIRECT_RESPONSE_CODES",
        "PERMANENT_REDIRECT_RESPONSE_CODES", "parse_content_type_charset", "to_key_val_list",
    ],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(NAMES))
def test_2x_names_are_importable(module):
    mod = importlib.import_module(module)
    assert [n for n in NAMES[module] if not hasattr(mod, n)] == []


def test_httplib2_module_is_there():
    # skipped only where the real httplib2 (an optional extra) is not installed
    assert hasattr(pytest.importorskip("geventhttpclient.httplib2"), "Http")


def test_unquote_unreserved_decodes_only_unreserved_escapes():
    from geventhttpclient.exceptions import InvalidURL
    from geventhttpclient.url import unquote_unreserved

    assert unquote_unreserved("/%7Euser/a%2Fb%41%20") == "/~user/a%2FbA%20"
    assert unquote_unreserved("100%") == "100%"
    with pytest.raises(InvalidURL):
        unquote_unreserved("/%zz")


def test_to_key_val_list():
    from geventhttpclient.url import to_key_val_list

    assert to_key_val_list({"a": 1}) == [("a", 1)]
    assert to_key_val_list([("a", 1), ("b", 2)]) == [("a", 1), ("b", 2)]
    assert to_key_val_list(None) is None
    for bad in ("ab", b"ab", True, 3):
        with pytest.raises(ValueError):
            to_key_val_list(bad)


def test_init_ssl_context_verifies_even_without_the_host_name_check():
    from geventhttpclient import _net
    from geventhttpclient.connectionpool import init_ssl_context

    ctx = init_ssl_context(ssl.create_default_context, None)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    ctx = init_ssl_context(ssl.create_default_context, None, check_hostname=False)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and not ctx.check_hostname
    # without a factory it is still a context of its own, not the shared default
    ctx = init_ssl_context(None, None, check_hostname=False)  # type: ignore[arg-type]
    assert not ctx.check_hostname and _net.make_ssl_context().check_hostname


def test_httplib_headers_join_repeated_fields():
    from geventhttpclient.httplib import HTTPLibHeaders

    h = HTTPLibHeaders()
    h.add("Via", "a")
    h.add("via", "b")
    assert h["VIA"] == "a, b"
    assert isinstance(h, dict)


def test_redirect_code_names_are_the_policys():
    from geventhttpclient import _policy, useragent

    assert useragent.REDIRECT_RESPONSE_CODES == {301, 302, 303, 307, 308}
    assert useragent.REDIRECT_RESPONSE_CODES is _policy.REDIRECT_CODES
    assert useragent.PERMANENT_REDIRECT_RESPONSE_CODES == {301, 308}


def test_2x_pool_signature_and_socket_api(server_factory):
    """2.x's ConnectionPool(host, port, host, port, size=...) lends raw sockets."""
    from conftest import keep_alive

    from geventhttpclient.connectionpool import ConnectionPool

    server = server_factory(keep_alive(lambda conn, req: conn.respond(200, b"ok")))
    pool = ConnectionPool("127.0.0.1", server.port, "127.0.0.1", server.port, size=2)
    assert pool.size == 2
    sock = pool.get_socket()
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    reply = b""
    while not reply.endswith(b"ok"):
        reply += sock.recv(4096)
    pool.return_socket(sock)
    assert pool.get_socket() is sock  # kept alive and lent again
    pool.release_socket(sock)
    stats = pool.statistics()
    assert (stats.connections, stats.created, stats.discarded) == (0, 1, 1)
    with pytest.raises(TypeError):
        ConnectionPool("127.0.0.1", 1, "127.0.0.1", 1, use_proxy=True)
    with pytest.raises(TypeError):
        ConnectionPool(lambda: None, 1, 2)


def test_2x_ssl_pool_names_the_server_from_ssl_options():
    from geventhttpclient.connectionpool import SSLConnectionPool

    pool = SSLConnectionPool(
        "127.0.0.1", 443, "127.0.0.1", 443, ssl_options={"server_hostname": "example.test"}
    )
    assert pool.ssl_options["server_hostname"] == "example.test"
    assert pool.ssl_context.verify_mode == ssl.CERT_REQUIRED


def test_every_error_class_is_defined_in_exceptions_py():
    """One error tree: every exception class of the package is written in
    exceptions.py; other modules only re-export (httplib's and httpx's vocabulary
    carry their face's module name there)."""
    import os
    import pkgutil

    import geventhttpclient
    from geventhttpclient import exceptions

    defined_there = {id(v) for v in vars(exceptions).values() if isinstance(v, type)}
    package_dir = os.path.dirname(geventhttpclient.__file__)
    elsewhere = []
    for info in pkgutil.iter_modules([package_dir]):
        if info.name in ("httplib2", "__main__"):
            continue  # httplib2 needs the optional package; __main__ defines no errors
        module = importlib.import_module(f"geventhttpclient.{info.name}")
        for name, obj in vars(module).items():
            if (
                isinstance(obj, type)
                and issubclass(obj, BaseException)
                and obj.__module__.startswith("geventhttpclient")
                and id(obj) not in defined_there
            ):
                elsewhere.append(f"{info.name}.{name}")
    assert elsewhere == []
