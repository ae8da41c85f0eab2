from __future__ import annotations

import copy
import json
import pickle
import string
from collections.abc import Mapping, MutableMapping
from email.message import Message
from http.cookiejar import CookieJar
from urllib.request import Request

import pytest

from geventhttpclient.header import Headers, parse_content_type_charset

MULTI_COOKIE_PAIRS = [
    (b"Server", b"nginx"),
    (b"Content-Type", b"text/html; charset=windows-1251"),
    (b"Set-Cookie", b"a=1; path=/"),
    (b"Cache-Control", b"private"),
    (b"Set-Cookie", b"b=2; path=/"),
    (b"set-cookie", b"c=3; path=/"),
    (b"Content-Length", b"26186"),
]


# -- construction ---------------------------------------------------------------------


def test_create_from_kwargs():
    h = Headers(ab=1, cd=2, ef=3, gh=4)
    assert len(h) == 4
    assert "ab" in h
    assert h["ab"] == "1"


def test_create_from_iterator():
    h = Headers((x, x * 5) for x in string.ascii_lowercase)
    assert len(h) == len(string.ascii_lowercase)


def test_create_from_dict():
    h = Headers({"ab": 1, "cd": 2})
    assert len(h) == 2
    assert "AB" in h


def test_create_from_list_keeps_repeated_fields():
    h = Headers([("ab", "A"), ("cd", "B"), ("cookie", "C"), ("cookie", "D"), ("cookie", "E")])
    assert len(h) == 5
    assert h["cookie"] == ["C", "D", "E"]


def test_create_from_dict_with_list_value_adds_each_value():
    h = Headers({"Set-Cookie": ["a=1", "b=2"]})
    assert h.items() == [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]


def test_create_from_other_headers_copies():
    original = Headers([("A", "1"), ("a", "2")])
    h = Headers(original)
    h.add("A", "3")
    assert original.getlist("a") == ["1", "2"]
    assert h.getlist("a") == ["1", "2", "3"]


def test_is_a_dict_and_a_mutable_mapping_as_in_2x():
    h = Headers()
    assert isinstance(h, dict)
    assert isinstance(h, MutableMapping)
    assert isinstance(h, Mapping)


# -- lookups --------------------------------------------------------------------------


def test_single_value_is_a_string_and_repeated_values_a_list():
    h = Headers([("ab", "A"), ("cd", "B"), ("cookie", "C"), ("cookie", "D"), ("cookie", "E")])
    for key, ref in {"ab": "A", "cd": "B", "cookie": ["C", "D", "E"]}.items():
        assert h[key] == ref
        assert h.get(key) == ref
        assert h.pop(key) == ref
        assert key not in h


def test_lookups_are_case_insensitive():
    h = Headers({"Content-Type": "text/plain"})
    h.add("Content-Encoding", "utf8")
    for val in ("content-type", "content-encoding"):
        assert val.upper() in h
        assert val.lower() in h
        assert val.capitalize() in h
        assert h.get(val.lower()) == h.get(val.upper()) == h.get(val.capitalize())
        del h[val.upper()]
        assert val.lower() not in h


def test_missing_name_raises_key_error_and_get_returns_default():
    h = Headers(a="1")
    with pytest.raises(KeyError):
        h["b"]
    assert h.get("b") is None
    assert h.get("b", "x") == "x"


def test_getlist_and_aliases_always_return_lists():
    h = Headers([("A", "1"), ("a", "2"), ("B", "3")])
    for method in (h.getlist, h.getheaders, h.getallmatchingheaders, h.iget):
        assert method("a") == ["1", "2"]
        assert method("b") == ["3"]
        assert method("c") == []


def test_getlist_returns_a_copy():
    h = Headers(a="1")
    h.getlist("a").append("2")
    assert h["a"] == "1"


def test_get_all_follows_email_message_semantics():
    h = Headers([("A", "1"), ("a", "2")])
    assert h.get_all("A") == ["1", "2"]
    assert h.get_all("missing") is None
    assert h.get_all("missing", []) == []


def test_non_string_names_are_refused():
    with pytest.raises(TypeError):
        Headers({3: 3})
    h = Headers()
    with pytest.raises(TypeError):
        h[3] = 5  # type: ignore[index]
    with pytest.raises(TypeError):
        h.add(3, 4)
    with pytest.raises(TypeError):
        del h[3]  # type: ignore[arg-type]
    assert 3 not in h


def test_none_value_is_refused():
    with pytest.raises(TypeError):
        Headers(a=None)
    with pytest.raises(TypeError):
        Headers()["a"] = None


# -- order and case -------------------------------------------------------------------


def test_items_keep_original_case_and_duplicates():
    h = Headers(Cookie="C", COOKIE="D", cookie="E", asdf="E")
    assert len(h) == 4
    assert h["cookie"] == ["C", "D", "E"]
    assert h.items() == [("Cookie", "C"), ("COOKIE", "D"), ("cookie", "E"), ("asdf", "E")]


def test_items_keep_arrival_order_across_names():
    h = Headers([("A", "1"), ("B", "2"), ("a", "3")])
    assert h.items() == [("A", "1"), ("B", "2"), ("a", "3")]


def test_keys_and_iteration_give_each_name_once_lowercased():
    # 2.x: the names are the lowercased dict keys (3.0 gave the first-seen case).
    h = Headers([("Set-Cookie", "1"), ("X", "2"), ("set-cookie", "3")])
    assert list(h) == ["set-cookie", "x"]
    assert list(h.keys()) == ["set-cookie", "x"]
    assert list(reversed(h)) == ["x", "set-cookie"]


def test_keys_view_matches_case_insensitively_and_counts_names():
    h = Headers([("Set-Cookie", "1"), ("X", "2"), ("set-cookie", "3")])
    keys = h.keys()
    assert "SET-COOKIE" in keys and "x" in keys and "y" not in keys
    assert len(keys) == 2
    assert len(h) == 3
    assert keys == {"set-cookie", "x"}
    h.add("Y", "4")
    assert "y" in keys  # a live view


def test_values_view_gives_what_getitem_gives():
    h = Headers([("A", "1"), ("B", "2"), ("a", "3")])
    assert list(h.values()) == [["1", "3"], "2"]
    assert len(h.values()) == 2


def test_iteroriginal_iterlower_and_iteritems():
    h = Headers([("A-B", "1"), ("c", "2")])
    assert list(h.iteroriginal()) == [("A-B", "1"), ("c", "2")]
    assert list(h.iteritems()) == [("A-B", "1"), ("c", "2")]
    assert list(h.iterlower()) == [("a-b", "1"), ("c", "2")]


def test_pretty_items_capitalise_names():
    h = Headers([("content-TYPE", "x"), ("x-foo-bar", "y")])
    assert list(h.pretty_items()) == [("Content-Type", "x"), ("X-Foo-Bar", "y")]


def test_str_gives_one_line_per_field():
    h = Headers(asdf="ddd", ASDF="fff", AsDf="asdfasdf")
    assert str(h) == "asdf: ddd\nASDF: fff\nAsDf: asdfasdf"


def test_repr_shows_the_pairs():
    assert repr(Headers([("A", "1")])) == "Headers([('A', '1')])"


# -- writing --------------------------------------------------------------------------


def test_setitem_replaces_all_values():
    h = Headers()
    h["asdf"] = "jklm"
    h["asdf"] = "dfdf"
    assert h["asdf"] == "dfdf"
    h.add("Content-Type", "text/plain")
    h.add("content-type", "text/xml")
    h["CONTENT-type"] = "text/html"
    assert h["content-type"] == "text/html"
    assert h.getlist("content-type") == ["text/html"]


def test_setitem_takes_the_place_of_the_first_occurrence():
    h = Headers([("A", "1"), ("B", "2"), ("a", "3"), ("C", "4")])
    h["a"] = "x"
    assert h.items() == [("a", "x"), ("B", "2"), ("C", "4")]


def test_setitem_with_list_sets_several_values():
    h = Headers(a="1")
    h["Set-Cookie"] = ["x=1", "y=2"]
    assert h.getlist("set-cookie") == ["x=1", "y=2"]
    assert len(h) == 3


def test_add_keeps_existing_values():
    h = Headers(foo="bar")
    h.add("Foo", "baz")
    assert h["foo"] == ["bar", "baz"]


def test_delitem_removes_all_values():
    h = Headers([("A", "1"), ("B", "2"), ("a", "3")])
    del h["a"]
    assert h.items() == [("B", "2")]
    with pytest.raises(KeyError):
        del h["a"]


def test_discard_ignores_missing_names():
    h = Headers([("A", "1"), ("a", "2")])
    h.discard("A")
    h.discard("A")
    assert len(h) == 0


def test_pop_with_and_without_default():
    h = Headers(a="1")
    assert h.pop("b", None) is None
    with pytest.raises(KeyError):
        h.pop("b")
    assert h.pop("A") == "1"
    assert len(h) == 0


def test_setdefault():
    h = Headers(a="1")
    assert h.setdefault("A", "2") == "1"
    assert h.setdefault("B", "3") == "3"
    assert h.items() == [("a", "1"), ("B", "3")]


def test_update_replaces_like_a_dict():
    h = Headers()
    h.update(COOKIE="A", Cookie="C")
    assert h.items() == [("Cookie", "C")]
    h = Headers()
    h.update({"Cookie": "C", "COOKIE": "D", "cookiE": "E"})
    assert h.items() == [("cookiE", "E")]


def test_update_from_headers_carries_all_values():
    defaults = Headers([("User-Agent", "ua"), ("Accept", "*/*")])
    mine = Headers([("accept", "text/html"), ("Set-Cookie", "a"), ("Set-Cookie", "b")])
    defaults.update(mine)
    assert defaults.items() == [
        ("User-Agent", "ua"),
        ("accept", "text/html"),
        ("Set-Cookie", "a"),
        ("Set-Cookie", "b"),
    ]


def test_update_from_pairs():
    h = Headers(a="1")
    h.update([("A", "2"), ("b", "3")])
    assert h.items() == [("A", "2"), ("b", "3")]


def test_extend_adds_from_message_like_objects():
    msg = Message()
    msg["Foo"] = "bar"
    msg["Baz"] = "qux"
    h = Headers(Foo="x")
    h.extend(msg)
    assert h["Foo"] == ["x", "bar"]
    assert h["Baz"] == "qux"


def test_extend_from_headers_and_kwargs():
    h = Headers()
    h.extend(Headers([("A", "1"), ("a", "2")]), b="3")
    assert h.items() == [("A", "1"), ("a", "2"), ("b", "3")]


def test_values_are_converted_to_str():
    h = Headers()
    h["Content-Length"] = 7
    h.add("X", 1.5)
    assert h["content-length"] == "7"
    assert h["x"] == "1.5"


def test_clear():
    h = Headers(a="1")
    h.clear()
    assert len(h) == 0 and "a" not in h
    h["b"] = "2"
    assert h.items() == [("b", "2")]


# -- bytes and the parser path --------------------------------------------------------


def test_bytes_names_and_values_are_decoded_as_latin1():
    h = Headers()
    h.add(b"X-Raw", b"caf\xe9 \xff\x80")
    h[b"Y"] = bytearray(b"\xc3\xa9")
    assert h["x-raw"] == "caf\u00e9 \u00ff\u0080"
    assert h[b"y"] == "\u00c3\u00a9"
    assert h.items()[0] == ("X-Raw", "caf\u00e9 \u00ff\u0080")


def test_from_raw_pairs_builds_the_same_headers():
    h = Headers._from_raw_pairs(MULTI_COOKIE_PAIRS)
    assert len(h) == 7
    assert h["content-length"] == "26186"
    assert h["SET-COOKIE"] == ["a=1; path=/", "b=2; path=/", "c=3; path=/"]
    assert h.items()[5] == ("set-cookie", "c=3; path=/")
    assert h == Headers([(n.decode(), v.decode()) for n, v in MULTI_COOKIE_PAIRS])


def test_from_raw_pairs_never_fails_on_non_utf8_bytes():
    h = Headers._from_raw_pairs([(b"X-\xff", b"\xfe\xfd\x00bin")])
    assert h["x-\u00ff"] == "\u00fe\u00fd\x00bin"


def test_from_raw_pairs_supports_mutation_before_and_after_lookup():
    h = Headers._from_raw_pairs([(b"A", b"1"), (b"B", b"2")])
    h.add("a", "3")
    assert h["A"] == ["1", "3"]
    h2 = Headers._from_raw_pairs([(b"A", b"1"), (b"B", b"2")])
    h2["b"] = "x"
    assert h2.items() == [("A", "1"), ("b", "x")]
    h3 = Headers._from_raw_pairs([(b"A", b"1")])
    del h3["a"]
    assert len(h3) == 0


def test_from_str_pairs_adopts_decoded_pairs():
    pairs = [("Content-Type", "text/plain"), ("set-cookie", "a"), ("Set-Cookie", "b")]
    h = Headers._from_str_pairs(pairs)
    assert h["content-type"] == "text/plain"
    assert h.getlist("set-cookie") == ["a", "b"]
    assert list(h) == ["content-type", "set-cookie"]


# -- comparison, copies, compatibility ------------------------------------------------


def test_equality_ignores_case_and_order_between_names():
    a = Headers([("A", "1"), ("B", "2"), ("a", "3")])
    b = Headers([("b", "2"), ("a", "1"), ("A", "3")])
    assert a == b
    assert a == {"a": ["1", "3"], "B": "2"}
    assert a != Headers([("a", "3"), ("a", "1"), ("b", "2")])
    assert a != Headers([("a", "1"), ("b", "2")])
    assert a != 5


def test_copy_is_independent_and_same_type():
    class MyHeaders(Headers):
        pass

    h = MyHeaders([("A", "1")])
    for c in (h.copy(), copy.copy(h)):
        assert c is not h
        assert type(c) is MyHeaders
        assert c == h
        c["new"] = "x"
        assert "new" in c and "new" not in h


def test_pickle_round_trip():
    h = Headers([("A", "1"), ("a", "2")])
    assert pickle.loads(pickle.dumps(h)).items() == h.items()


def test_compatible_dict_merges_repeated_values():
    h = Headers(D="asdf")
    h.add("E", "d")
    h.add("E", "f")
    h.add("Cookie", "d")
    h.add("Cookie", "e")
    h.add("Cookie", "f")
    d = h.compatible_dict()
    assert d == {"D": "asdf", "E": "d, f", "Cookie": "d, e, f"}
    assert list(h.itermerged()) == list(d.items())


def test_cookiejar_reads_all_set_cookie_lines():
    class Response:
        def __init__(self, headers):
            self.headers = headers

        def info(self):
            return self.headers

    headers = Headers._from_raw_pairs(
        [(b"Set-Cookie", b"a=1; path=/"), (b"set-cookie", b"b=2; path=/")]
    )
    jar = CookieJar()
    jar.extract_cookies(Response(headers), Request("http://example.com/"))  # type: ignore[arg-type]
    assert sorted(c.name for c in jar) == ["a", "b"]


def test_bool_reflects_emptiness():
    assert not Headers()
    assert Headers(a="1")


# -- the dict level (2.x: Headers is a dict subclass) ---------------------------------


def _assert_consistent(h):
    """The dict level (the index) always matches the field lines: no lazy state."""
    rebuilt = Headers(h.items())
    assert dict.__len__(h) == dict.__len__(rebuilt)
    assert list(dict.keys(h)) == list(dict.keys(rebuilt))
    assert [h.getlist(k) for k in h] == [rebuilt.getlist(k) for k in rebuilt]


def test_json_dumps_sees_every_line():
    h = Headers._from_raw_pairs([(b"Content-Type", b"text/plain"), (b"X-A", b"1")])
    assert json.loads(json.dumps(h)) == {"Content-Type": "text/plain", "X-A": "1"}
    assert json.dumps(h, indent=1) and json.dumps(Headers()) == "{}"


def test_plain_dict_consumers_read_lowercased_names_and_values():
    h = Headers([("Content-Type", "text/plain"), ("Set-Cookie", "a"), ("set-cookie", "b")])
    expected = {"content-type": "text/plain", "set-cookie": ["a", "b"]}
    assert dict(h) == expected
    assert {**h} == expected
    assert {} | h == expected
    d = {}
    d.update(h)
    assert d == expected


def test_or_returns_new_headers_with_dict_semantics():
    h = Headers([("X-A", "1"), ("X-B", "2")])
    merged = h | {"x-a": "3", "X-C": ["4", "5"]}
    assert type(merged) is Headers
    assert merged.items() == [("x-a", "3"), ("X-B", "2"), ("X-C", "4"), ("X-C", "5")]
    assert h.items() == [("X-A", "1"), ("X-B", "2")]
    h |= Headers([("X-B", "6")])
    assert h.items() == [("X-A", "1"), ("X-B", "6")]
    _assert_consistent(merged)
    _assert_consistent(h)


def test_fromkeys_goes_through_setitem():
    h = Headers.fromkeys(["X-D", "x-e"], "v")
    assert type(h) is Headers
    assert list(h) == ["x-d", "x-e"]
    assert h.items() == [("X-D", "v"), ("x-e", "v")]


def test_add_with_list_value_adds_one_line_per_element():
    h = Headers(a="1")
    h.add("A", ["2", "3"])
    h.add("b", ("4",))
    assert h.items() == [("a", "1"), ("A", "2"), ("A", "3"), ("b", "4")]
    _assert_consistent(h)


def test_create_from_pairs_with_list_value():
    h = Headers([("A", ["1", "2"]), ("B", 3)])
    assert h.items() == [("A", "1"), ("A", "2"), ("B", "3")]


def test_setdefault_defaults_to_empty_string_as_in_2x():
    h = Headers()
    assert h.setdefault("X") == ""
    assert h.items() == [("X", "")]


def test_popitem_removes_the_last_name_with_all_its_lines():
    h = Headers([("A", "1"), ("B", "2"), ("b", "3")])
    assert h.popitem() == ("b", ["2", "3"])
    assert h.items() == [("A", "1")]
    assert h.popitem() == ("a", "1")
    with pytest.raises(KeyError):
        h.popitem()


def test_not_equal_is_the_negation_of_equal():
    a = Headers([("A", "1")])
    assert not (a != Headers([("a", "1")]))
    assert a != Headers([("a", "2")])
    assert a != {"a": "2"}
    assert not (a != {"A": "1"})


def test_copies_do_not_share_repeated_fields():
    h = Headers([("A", "1"), ("a", "2")])
    for clone in (h.copy(), Headers(h), copy.copy(h), copy.deepcopy(h)):
        clone.add("A", "3")
        assert h.getlist("a") == ["1", "2"]
        assert clone.getlist("a") == ["1", "2", "3"]


class PicklableHeaders(Headers):
    """A subclass at module level, where pickle can find it."""


def test_pickle_keeps_repeated_fields_and_subclass_attributes():
    h = PicklableHeaders([("A", "1"), ("a", "2")])
    h.note = "x"
    clone = pickle.loads(pickle.dumps(h))
    assert type(clone) is PicklableHeaders
    assert clone.items() == [("A", "1"), ("a", "2")]
    assert clone["A"] == ["1", "2"]
    assert clone.note == "x"


def test_extend_from_message_keeps_every_repeated_line():
    msg = Message()
    msg["Set-Cookie"] = "a"
    msg["Set-Cookie"] = "b"
    h = Headers()
    h.extend(msg)
    assert h.getlist("set-cookie") == ["a", "b"]


def test_dict_level_stays_consistent_through_mutations():
    h = Headers._from_raw_pairs(MULTI_COOKIE_PAIRS)
    _assert_consistent(h)
    h["set-cookie"] = "z"
    _assert_consistent(h)
    h.add("Server", "other")
    h["X-New"] = ["1", "2"]
    _assert_consistent(h)
    del h["server"]
    h.pop("x-new")
    h.discard("cache-control")
    h.update({"Content-Length": "1"}, Date="today")
    h.setdefault("Via", "proxy")
    _assert_consistent(h)
    h.clear()
    _assert_consistent(h)
    assert dict.__len__(h) == 0


def test_parse_content_type_charset():
    assert parse_content_type_charset('text/html; Charset="UTF-8"') == "utf-8"
    assert parse_content_type_charset("text/html; q=1;charset=latin-1 ") == "latin-1"
    assert parse_content_type_charset("text/html") is None
    assert parse_content_type_charset("text/html; charset=") is None
    assert parse_content_type_charset("charset=utf-8") is None
