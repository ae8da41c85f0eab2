from __future__ import annotations

import copy
from urllib.parse import urlparse, urlsplit, urlunparse

import pytest

from geventhttpclient.exceptions import InvalidURL
from geventhttpclient.url import URL, requote_uri

URL_FULL = "http://gevent.org/subdir/file.py?param=value&other=true#frag"
URL_PATH_ONLY = "/path/to/something?param=value&other=true"

RFC3986_BASE = "http://a/b/c/d;p?q"

# RFC 3986 section 5.4.1
RFC3986_NORMAL = [
    ("g:h", "g:h"),
    ("g", "http://a/b/c/g"),
    ("./g", "http://a/b/c/g"),
    ("g/", "http://a/b/c/g/"),
    ("/g", "http://a/g"),
    ("//g", "http://g"),
    ("?y", "http://a/b/c/d;p?y"),
    ("g?y", "http://a/b/c/g?y"),
    ("#s", "http://a/b/c/d;p?q#s"),
    ("g#s", "http://a/b/c/g#s"),
    ("g?y#s", "http://a/b/c/g?y#s"),
    (";x", "http://a/b/c/;x"),
    ("g;x", "http://a/b/c/g;x"),
    ("g;x?y#s", "http://a/b/c/g;x?y#s"),
    ("", "http://a/b/c/d;p?q"),
    (".", "http://a/b/c/"),
    ("./", "http://a/b/c/"),
    ("..", "http://a/b/"),
    ("../", "http://a/b/"),
    ("../g", "http://a/b/g"),
    ("../..", "http://a/"),
    ("../../", "http://a/"),
    ("../../g", "http://a/g"),
]

# RFC 3986 section 5.4.2; "http:g" takes the backward-compatible (non-strict) reading.
RFC3986_ABNORMAL = [
    ("../../../g", "http://a/g"),
    ("../../../../g", "http://a/g"),
    ("/./g", "http://a/g"),
    ("/../g", "http://a/g"),
    ("g.", "http://a/b/c/g."),
    (".g", "http://a/b/c/.g"),
    ("g..", "http://a/b/c/g.."),
    ("..g", "http://a/b/c/..g"),
    ("./../g", "http://a/b/g"),
    ("./g/.", "http://a/b/c/g/"),
    ("g/./h", "http://a/b/c/g/h"),
    ("g/../h", "http://a/b/c/h"),
    ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
    ("g;x=1/../y", "http://a/b/c/y"),
    ("g?y/./x", "http://a/b/c/g?y/./x"),
    ("g?y/../x", "http://a/b/c/g?y/../x"),
    ("g#s/./x", "http://a/b/c/g#s/./x"),
    ("g#s/../x", "http://a/b/c/g#s/../x"),
    ("http:g", "http://a/b/c/g"),
]


# -- parsing --------------------------------------------------------------------------


def test_full_url_is_split_into_components():
    url = URL(URL_FULL)
    assert url.scheme == "http"
    assert url.host == "gevent.org"
    assert url.port == 80
    assert url.path == "/subdir/file.py"
    assert url.query == "param=value&other=true"
    assert url.fragment == "frag"
    assert url.user == ""
    assert url.password == ""


def test_path_only_url_has_no_host_and_no_port():
    url = URL(URL_PATH_ONLY)
    assert url.scheme == ""
    assert url.host == ""
    assert url.port is None
    assert url.path == "/path/to/something"
    assert url.query == "param=value&other=true"
    assert url.request_uri == URL_PATH_ONLY


def test_empty_url_is_empty_everywhere():
    url = URL()
    assert url.host == ""
    assert not url.port
    assert url.query == ""
    assert url.fragment == ""
    assert url.netloc == ""
    assert str(url) == ""
    assert URL(None) == URL("")


def test_scheme_and_host_are_lowercased():
    url = URL("HTTPS://WWW.Example.COM/Path")
    assert url.scheme == "https"
    assert url.host == "www.example.com"
    assert url.path == "/Path"


@pytest.mark.parametrize(
    ("text", "port"),
    [
        ("http://gevent.org", 80),
        ("https://python.org", 443),
        ("http://h:8080/", 8080),
        ("https://h:80/", 80),
        ("http://h:/", 80),
        ("ftp://h/", None),
        ("example.com", None),
        ("//h/", None),
    ],
)
def test_port_defaults_by_scheme_and_explicit_port_is_kept(text, port):
    assert URL(text).port == port


def test_empty_path_stays_empty_but_the_request_target_is_root():
    # 2.x keeps the path as written; RFC 9112 section 3.2.1 still asks for "/" on
    # the request line, which request_uri gives (2.x gave "" and its client added it).
    url = URL("http://gevent.org")
    assert url.path == ""
    assert url.request_uri == "/"
    assert url.quoted_uri == "/"
    assert str(url) == "http://gevent.org"
    assert URL("http://gevent.org?q=1").request_uri == "/?q=1"


def test_scheme_relative_url_keeps_empty_scheme():
    url = URL("//Host:81/p")
    assert url.scheme == ""
    assert url.host == "host"
    assert url.port == 81
    assert url.netloc == "host:81"


def test_non_http_scheme_without_authority():
    url = URL("mailto:someone@example.com")
    assert url.scheme == "mailto"
    assert url.host == ""
    assert url.path == "someone@example.com"
    assert str(url) == "mailto:someone@example.com"


# -- credentials ----------------------------------------------------------------------


def test_user_and_password_are_parsed():
    url = URL("http://asdf:dd@example.com:90/index.php?aaaa=bbbbb")
    assert url.host == "example.com"
    assert url.port == 90
    assert url.user == "asdf"
    assert url.password == "dd"
    assert url.netloc == "example.com:90"


def test_user_and_password_are_percent_decoded_and_reencoded():
    url = URL("http://us%40er:p%3Aw:x@h/")
    assert url.user == "us@er"
    assert url.password == "p:w:x"
    assert str(url) == "http://us%40er:p:w:x@h/"
    assert URL(str(url)).password == "p:w:x"


def test_user_without_password():
    url = URL("http://bob@h/")
    assert url.user == "bob"
    assert url.password == ""
    assert str(url) == "http://bob@h/"


def test_at_sign_in_password_uses_last_at_as_separator():
    url = URL("http://u:p@ss@h/")
    assert url.host == "h"
    assert url.password == "p@ss"


def test_repr_masks_password_but_str_keeps_it():
    url = URL("http://u:secret@h/")
    assert "secret" not in repr(url)
    assert repr(url) == "URL(http://u:***@h/)"
    assert "secret" in str(url)
    assert url.password == "secret"


def test_stripped_auth_drops_credentials_and_fragment():
    url = URL("http://u:p@h/x?y=1#f")
    stripped = url.stripped_auth()
    assert str(stripped) == "http://h/x?y=1"
    assert url.user == "u"


# -- IPv6 -----------------------------------------------------------------------------


def test_ipv6_host_has_no_brackets():
    url = URL("http://[2001:db8:85a3:8d3:1319:8a2e:370:7348]/")
    assert url.host == "2001:db8:85a3:8d3:1319:8a2e:370:7348"
    assert url.port == 80
    assert url.user == ""
    assert url.netloc == "[2001:db8:85a3:8d3:1319:8a2e:370:7348]"


def test_ipv6_with_port():
    url = URL("https://[2001:DB8::1]:8080/x")
    assert url.host == "2001:db8::1"
    assert url.port == 8080
    assert url.netloc == "[2001:db8::1]:8080"
    assert str(url) == "https://[2001:db8::1]:8080/x"


def test_ipv6_default_port_is_omitted_from_netloc():
    assert URL("https://[::1]:443/").netloc == "[::1]"


def test_ipv6_zone_identifier_is_decoded_for_the_host():
    url = URL("http://[fe80::1%25eth0]:8080/")
    assert url.host == "fe80::1%eth0"
    assert url.netloc == "[fe80::1%25eth0]:8080"


# -- netloc, request_uri, str ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "netloc", "request_uri"),
    [
        ("http://h/", "h", "/"),
        ("http://h:80/a", "h", "/a"),
        ("http://h:8080/a?b=c", "h:8080", "/a?b=c"),
        ("https://h:443/a?", "h", "/a"),
        ("https://h:80/", "h:80", "/"),
        ("http://h/a#frag", "h", "/a"),
        ("http://u:p@h:81/", "h:81", "/"),
    ],
)
def test_netloc_and_request_uri(text, netloc, request_uri):
    url = URL(text)
    assert url.netloc == netloc
    assert url.request_uri == request_uri


def test_str_includes_fragment_and_credentials():
    text = "https://u:p@example.com:8443/a/b?c=d#e"
    assert str(URL(text)) == text


@pytest.mark.parametrize("text", [URL_FULL, URL_PATH_ONLY, "https://u:p@[::1]:99/x;p?q#f"])
def test_reparsing_str_gives_the_same_url(text):
    url = URL(text)
    reparsed = URL(str(url))
    for attr in URL.__slots__:
        assert getattr(reparsed, attr) == getattr(url, attr)


def test_tuple_is_the_urlparse_six_tuple():
    url = URL("http://gevent.org/some;path?foo=bar#frag")
    assert tuple(url) == ("http", "gevent.org", "/some", "path", "foo=bar", "frag")
    assert url.params == "path"
    assert urlunparse(tuple(url)) == str(url)


@pytest.mark.parametrize(
    "text", ["/a;b/c;d;e?x", "/a;b/c", "/;p", ";p", "/a/", "http://h/a;=", "http://h;x/y"]
)
def test_params_are_split_from_the_last_segment_like_urlparse(text):
    url = URL(text)
    parsed = urlparse(text)
    assert (url.path, url.params) == (parsed.path, parsed.params)
    assert str(url) == text


def test_urlparse_and_urlsplit_results_are_accepted():
    text = "https://u:p@h:8443/a;p?q=1#f"
    assert str(URL(urlparse(text))) == text
    assert str(URL(urlsplit(text))) == text
    with pytest.raises(TypeError):
        URL(("a", "b"))  # type: ignore[arg-type]


def test_username_and_hostname_are_the_urlparse_names():
    url = URL("http://USER:pw@Gevent.ORG/path")
    assert (url.username, url.hostname) == ("USER", "gevent.org")
    url.username, url.hostname = "bob", "h"
    assert str(url) == "http://bob:pw@h/path"


def test_absent_parts_are_empty_strings_and_unknown_ones_raise():
    url = URL("http://h/")
    for name in ("user", "username", "password", "params", "query", "fragment"):
        assert getattr(url, name) == ""
    with pytest.raises(AttributeError):
        url.nonexistent_part  # noqa: B018
    with pytest.raises(AttributeError):
        url.nonexistent_part = 1


def test_tuple_has_no_none():
    assert not any(value is None for value in tuple(URL("http://gevent.org/")))


def test_equality_compares_string_forms():
    assert URL("https://example.com/") != URL("http://example.com/")
    assert URL("http://example.com/") == URL("http://EXAMPLE.com:80/")
    assert URL("http://example.com/") == "http://example.com/"
    assert URL("http://example.com/") != 42


def test_url_is_mutable_and_str_follows():
    url = URL("http://getgauss.com/urls?param=asdfa")
    url.host = "infrae.com"
    url.port = 8000
    assert str(url) == "http://infrae.com:8000/urls?param=asdfa"


def test_copy_is_independent():
    url = URL("http://h/a?b=c")
    clone = copy.copy(url)
    clone["b"] = "d"
    clone.path = "/x"
    assert str(url) == "http://h/a?b=c"
    assert str(clone) == "http://h/x?b=d"
    assert type(URL(url)) is URL and URL(url) == url


def test_append_to_path_puts_exactly_one_slash():
    url = URL("http://h/a")
    assert url.append_to_path("b") == "/a/b"
    assert url.append_to_path("/c/") == "/a/b/c/"
    assert url.append_to_path("/d") == "/a/b/c/d"


def test_append_to_path_moves_params_to_the_new_last_segment():
    url = URL("http://h/a;p?x=1")
    assert url.append_to_path("b;q") == "/a;p/b;q"
    assert (url.path, url.params, url.request_uri) == ("/a;p/b", "q", "/a;p/b;q?x=1")


# -- encoding -------------------------------------------------------------------------


def test_non_ascii_host_is_idna_encoded():
    url = URL("http://Bücher.example/")
    assert url.host == "xn--bcher-kva.example"
    assert url.netloc == "xn--bcher-kva.example"


def test_parts_are_kept_as_written_and_quoted_forms_are_encoded():
    # 2.x: request_uri and str() give the URL as written, quoted_uri and quoted
    # are what goes on the wire.
    url = URL("http://h/ä/ö;p=ü?q=ü&€#fü")
    assert url.path == "/ä/ö"
    assert url.params == "p=ü"
    assert url.query == "q=ü&€"
    assert url.fragment == "fü"
    assert url.request_uri == "/ä/ö;p=ü?q=ü&€"
    assert url.quoted_uri == "/%C3%A4/%C3%B6;p=%C3%BC?q=%C3%BC&%E2%82%AC"
    assert str(url) == url.geturl() == "http://h/ä/ö;p=ü?q=ü&€#fü"
    assert url.quoted == "http://h/%C3%A4/%C3%B6;p=%C3%BC?q=%C3%BC&%E2%82%AC#f%C3%BC"


def test_existing_escapes_are_not_double_encoded():
    url = URL("http://h/a%20b/%E2%82%AC?x=%2F%41&y=ä")
    assert url.request_uri == "/a%20b/%E2%82%AC?x=%2F%41&y=ä"
    assert url.quoted_uri == "/a%20b/%E2%82%AC?x=%2F%41&y=%C3%A4"


def test_lone_percent_is_encoded():
    url = URL("http://h/100%/x%zz?p=5%")
    assert url.request_uri == "/100%/x%zz?p=5%"
    assert url.quoted_uri == "/100%25/x%25zz?p=5%25"


def test_space_inside_path_and_query_is_kept_and_quoted_as_in_2x():
    url = URL("http://gevent.org/a b?foo=bar with spaces")
    assert url.path == "/a b"
    assert url.query == "foo=bar with spaces"
    assert url.quoted_uri == "/a%20b?foo=bar%20with%20spaces"
    assert url["foo"] == "bar with spaces"


def test_characters_invalid_in_uris_are_quoted():
    assert URL('http://h/a"<>\\^`{|}').quoted_uri == "/a%22%3C%3E%5C%5E%60%7B%7C%7D"


def test_brackets_in_query_are_kept():
    assert URL("http://h/?a[]=1&a[]=2").quoted_uri == "/?a[]=1&a[]=2"


def test_requote_uri_keeps_reserved_characters_and_escapes():
    assert requote_uri("/a b/%41;p=1?q=ä&r=5%#f g") == "/a%20b/%41;p=1?q=%C3%A4&r=5%25#f%20g"
    with pytest.raises(InvalidURL):
        requote_uri("/\udcff")


# -- invalid URLs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "http://h:99999/",
        "http://h:65536/",
        "http://h:abc/",
        "http://h:-1/",
        "http://h:+80/",
        "http://h:８０/",
        "http://h:80:80/",
        "http://[::1/",
        "http://::1]/",
        "http://[::1]x/",
        "http://[not-ipv6]/",
        "http://[::1%25]/",
        "http://a]b/",
        "http:///path",
        "https://",
        "http://:80/",
        "http://user@/",
        "http:relative",
        "http://h\r\n/",
        "http://h/\r\nX-Injected: 1",
        "http://h/a\nb",
        "http://h/\x00",
        "http://h/\tx",
        "http://h/?q=\x7f",
        "http://h/?q=\x85",
        "http://h/#\x1b",
        " http://h/",
        "http://h/ ",
        "http://h h/",
        "http://u ser@h/",
        "http://h<x>/",
        "http://ä..b/",
        "http://exa\u0000mple/",
        "http://\udcff/",
    ],
)
def test_invalid_url_raises_invalid_url(text):
    with pytest.raises(InvalidURL):
        URL(text)


def test_invalid_url_is_a_value_error():
    with pytest.raises(ValueError):
        URL("http://h:abc/")


def test_non_string_url_is_a_type_error():
    with pytest.raises(TypeError):
        URL(b"http://h/")  # type: ignore[arg-type]


# -- query parameters -----------------------------------------------------------------


def test_params_are_appended_to_the_query():
    url = URL(URL_FULL, params={"pp": "hello"})
    assert url.query == "param=value&other=true&pp=hello"
    assert url.fragment == "frag"


def test_params_are_form_urlencoded():
    url = URL(URL_FULL, params={"a/b": "c/d", "s": "x y"})
    assert url.query == "param=value&other=true&a%2Fb=c%2Fd&s=x+y"


def test_params_accept_pairs_lists_numbers_and_skip_none():
    url = URL("/some/url", params=[("a", "b"), ("c", 2), ("m", ["x", "y"]), ("n", None)])
    assert url.query == "a=b&c=2&m=x&m=y"


def test_params_on_url_without_query():
    assert URL("/some/url", params={"a": "b", "c": 2}).request_uri == "/some/url?a=b&c=2"


def test_params_string_is_appended_to_the_query_as_written():
    url = URL("/p?a=1", params="b=2&c=ä")
    assert url.query == "a=1&b=2&c=ä"
    assert url.quoted_uri == "/p?a=1&b=2&c=%C3%A4"


def test_params_of_wrong_type_raise_value_error():
    with pytest.raises(ValueError):
        URL("/p", params=5)  # type: ignore[arg-type]


def test_getitem_reads_decoded_query_parameters():
    url = URL("http://h/?a=1&b=x+y&c=%2F&a=2&e=")
    assert url["b"] == "x y"
    assert url["c"] == "/"
    assert url["a"] == ["1", "2"]
    assert url["e"] == ""
    assert url.get("missing") is None
    assert url.get("missing", "d") == "d"
    with pytest.raises(KeyError):
        url["missing"]


def test_setitem_adds_a_query_parameter():
    url = URL("http://getgauss.com/urls?param=asdfa")
    url["auth_token"] = "asdf isdf/uasdf"
    assert url.query == "param=asdfa&auth_token=asdf+isdf%2Fuasdf"
    assert url["auth_token"] == "asdf isdf/uasdf"


def test_setitem_replaces_every_occurrence_in_place():
    url = URL("http://h/?a=1&b=%7E&a=2")
    url["a"] = "3"
    assert url.query == "a=3&b=%7E"


def test_setitem_with_list_sets_several_values():
    url = URL("http://h/")
    url["a"] = [1, 2]
    assert url.request_uri == "/?a=1&a=2"


def test_quoting_safe_keeps_characters_unencoded():
    class SafeURL(URL):
        quoting_safe = "*"

    url, safe = URL("/p"), SafeURL("/p")
    url["k"] = "*"
    safe["k"] = "*"
    assert url.query == "k=%2A"
    assert safe.query == "k=*"


def test_delitem_removes_a_query_parameter():
    url = URL("http://h/?a=1&b=2&a=3")
    del url["a"]
    assert url.query == "b=2"
    with pytest.raises(KeyError):
        del url["a"]


def test_query_string_is_the_query_without_question_mark():
    url = URL("http://h/p?x=1")
    assert url.query_string == "x=1"


# -- redirects ------------------------------------------------------------------------


@pytest.mark.parametrize(("ref", "expected"), RFC3986_NORMAL + RFC3986_ABNORMAL)
def test_redirect_resolves_rfc3986_examples(ref, expected):
    resolved = URL(RFC3986_BASE).redirect(ref)
    assert str(resolved) == expected


def test_redirect_to_absolute_url_replaces_everything():
    url = URL(URL_FULL)
    updated = url.redirect("https://google.de:8443/index")
    assert str(updated) == "https://google.de:8443/index"
    assert updated.port == 8443


def test_redirect_absolute_path_keeps_host_and_port():
    url = URL("http://h:8080/subdir/file.py?x=1")
    updated = url.redirect("/test.html")
    assert (updated.host, updated.port, updated.path, updated.query) == (
        "h",
        8080,
        "/test.html",
        "",
    )


@pytest.mark.parametrize("location", ["test.html?key=val", "folder/test.html?key=val"])
def test_redirect_relative_path_is_resolved_against_directory(location):
    updated = URL("http://gevent.org/subdir/file.py?param=value").redirect(location)
    assert updated.host == "gevent.org"
    assert updated.path == "/subdir/" + location.split("?", 1)[0]
    assert updated.query == "key=val"


def test_redirect_takes_the_fragment_of_the_location_only():
    # RFC 3986 section 5.2.2 and 2.x; RFC 9110 section 10.2.2's inheritance of the
    # fragment is for a user agent to apply, not for reference resolution.
    url = URL("http://h/a#sec")
    assert url.redirect("/b").fragment == ""
    assert url.redirect("/b#other").fragment == "other"
    assert url.redirect("#other").request_uri == "/a"


def test_redirect_to_scheme_relative_location():
    assert str(URL("https://a/x").redirect("//b:444/y")) == "https://b:444/y"


def test_redirect_keeps_credentials_for_relative_location():
    assert str(URL("http://u:p@h/a/b").redirect("c")) == "http://u:p@h/a/c"


def test_redirect_accepts_url_objects():
    assert str(URL("http://h/a/b").redirect(URL("/x?y=1"))) == "http://h/x?y=1"


def test_redirect_keeps_non_ascii_location_as_written_and_quotes_it():
    updated = URL("http://h/").redirect("/ä?q=ö")
    assert updated.request_uri == "/ä?q=ö"
    assert updated.quoted_uri == "/%C3%A4?q=%C3%B6"


def test_redirect_keeps_the_base_params_for_a_query_only_location():
    updated = URL("https://h/a/b/c/d;p?q").redirect("?new=2")
    assert (updated.path, updated.params, updated.query) == ("/a/b/c/d", "p", "new=2")
    assert URL("https://h/a/d;p?q").redirect(";x").request_uri == "/a/;x"


@pytest.mark.parametrize("location", ["/a\r\nSet-Cookie: x", "http://h:bad/", "http:///x"])
def test_redirect_to_invalid_location_raises_invalid_url(location):
    with pytest.raises(InvalidURL):
        URL("http://h/").redirect(location)


def test_redirect_returns_a_new_url():
    url = URL("http://h/a")
    url.redirect("/b")
    assert str(url) == "http://h/a"
