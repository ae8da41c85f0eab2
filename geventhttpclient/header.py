"""Case-insensitive, order-preserving, multi-valued HTTP header fields.

:class:`Headers` keeps every field line as an ``(original name, value)`` pair in the
order it was added or received, because that is the truth of the message: the
order of repeated fields is significant (RFC 9110 section 5.3) and ``Set-Cookie``
lines must never be merged.

Theory of operation. ``Headers`` is a ``dict`` subclass, as in 2.x, so that
``isinstance(h, dict)``, ``json.dumps(h)``, ``dict(h)`` and ``{**h}`` keep working.
The dict level holds the lookup index: the lowercased name maps to the field's
``(name, value)`` pair, or to the list of its pairs when it is repeated. Beside
it, the ``_items`` slot holds every pair in arrival order. Every method updates
both together, never lazily: C code that reads a dict directly (the ``json``
encoder asks the dict level whether it is empty) must never see a stale index.
The builtin dict methods that would bypass the case folding are all overridden.

It follows the 2.x ``Headers`` API: ``h[name]`` is the value, or the list of values
when the field occurs more than once; iterating, ``keys()`` and ``values()`` give
each field once under its lowercased name; ``items()`` lists every line, duplicates
included, in original case; ``len()`` counts lines; ``update`` and ``h[name] = v``
replace, ``add`` and ``extend`` append.
"""

from __future__ import annotations

from collections.abc import KeysView, Mapping, ValuesView
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Protocol,
    Tuple,
    TypeVar,
    Union,
)

__all__ = ["Headers", "HeadersDataType", "HeadAccess", "parse_content_type_charset"]

#: A field name as callers give it; bytes are latin-1.
FieldName = Union[str, bytes, bytearray]
#: What the client accepts wherever headers are passed in. A value is a str, bytes
#: (latin-1) or anything ``str()`` renders (numbers), hence ``object``; a list or
#: tuple value is one field line per element.
HeadersDataType = Union[
    Mapping[str, object], Mapping[bytes, object], Iterable[Tuple[FieldName, object]], "Headers"
]


class HeadersReader(Protocol):
    """What code that reads fields by name needs: ``get(name)``, as a
    :class:`Headers`, a plain dict and :class:`email.message.Message` have."""

    def get(self, name: str, /) -> Any: ...


# What h[name] gives: the value, or the list of values when the field is repeated
# (2.x). Any, not a Union: almost every field occurs once, and a Union would make
# every caller narrow the str it already has.
_Lookup = Any

_Pair = Tuple[str, str]
# The index entry of a lowercased name: the (name, value) pair itself while the field
# occurs once (the same tuple object as in _items, so building an index allocates
# nothing per field), a list of its pairs once it is repeated.
_Entry = Union[_Pair, List[_Pair]]

_MISSING: Any = object()
_T = TypeVar("_T")

# The dict level, reached past our overrides. Module globals: one lookup, no MRO walk.
# get, setdefault, __contains__ are fast method descriptors; __setitem__ and
# __delitem__ are slot wrappers (about three times slower), kept off the common paths.
_dict_get = dict.get
_dict_setdefault = dict.setdefault
_dict_setitem = dict.__setitem__
_dict_delitem = dict.__delitem__
_dict_contains = dict.__contains__
_dict_iter = dict.__iter__
_dict_len = dict.__len__
_dict_items = dict.items
_dict_values = dict.values
_dict_update = dict.update
_dict_clear = dict.clear


def _name(name: object) -> str:
    """Coerce a field name to ``str``; bytes are latin-1 (every byte maps, none fails)."""
    if type(name) is str:
        return name
    if isinstance(name, (bytes, bytearray)):
        return bytes(name).decode("latin-1")
    if isinstance(name, str):
        return str(name)
    raise TypeError(f"header names must be str or bytes, not {type(name).__name__}")


def _value(value: object) -> str:
    """Coerce a field value to ``str`` (numbers via ``str()``, bytes via latin-1).

    ``None`` is refused rather than sent as the text "None".
    """
    if type(value) is str:
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    if value is None:
        raise TypeError("a header value cannot be None")
    return str(value)


def _lower(name: object) -> str:
    """The lookup key for ``name``; ``TypeError`` for non-string names (as 2.x)."""
    if type(name) is str:
        return name.lower()
    return _name(name).lower()


def _values_of(value: object) -> List[str]:
    """A list/tuple value stands for several field lines (RFC 9110 section 5.2),
    anything else for one; never one line carrying the ``repr`` of a list."""
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    return [_value(value)]


def _first_name(entry: _Entry) -> str:
    return entry[0] if type(entry) is tuple else entry[0][0]


def _value_of(entry: _Entry) -> Union[str, List[str]]:
    """What ``h[name]`` returns for an index entry: a str, or a list when repeated."""
    if type(entry) is tuple:
        return entry[1]
    return [pair[1] for pair in entry]


def _values_list(entry: _Entry) -> List[str]:
    if type(entry) is tuple:
        return [entry[1]]
    return [pair[1] for pair in entry]


def _pairs_of(other: HeadersDataType) -> Iterable[Tuple[FieldName, object]]:
    """The ``(name, value)`` pairs of a ``Headers``, a mapping, an object with ``keys()``
    or an iterable of pairs. Values may still be lists (one line per element)."""
    if isinstance(other, Headers):
        return other._items
    if isinstance(other, Mapping):
        return other.items()
    if hasattr(other, "keys"):
        # email.message.Message: its items() has every line; msg[name] only the first.
        # (Duck-typed for 2.x callers, outside HeadersDataType.)
        message: Any = other
        items = getattr(message, "items", None)
        if items is not None:
            return list(items())
        return [(name, message[name]) for name in message.keys()]
    return other


class _NamesView(KeysView):  # type: ignore[type-arg]
    """``keys()``: each field once, lowercased; ``in`` is case-insensitive (2.x).

    Its length is the number of distinct fields (``len(headers)`` counts lines).
    """

    __slots__ = ()

    def __len__(self) -> int:
        return _dict_len(self._mapping)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


class _ValuesView(ValuesView):  # type: ignore[type-arg]
    """``values()``: per field what ``h[name]`` gives (a str, or a list if repeated)."""

    __slots__ = ()

    def __len__(self) -> int:
        return _dict_len(self._mapping)  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[_Lookup]:
        return iter([_value_of(entry) for entry in _dict_values(self._mapping)])  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


class Headers(dict):  # type: ignore[type-arg]
    """HTTP header fields: case-insensitive lookup, original case and order kept.

    >>> h = Headers([("Set-Cookie", "a=1"), ("Content-Type", "text/plain")])
    >>> h.add("set-cookie", "b=2")
    >>> h["content-type"], h["SET-COOKIE"]
    ('text/plain', ['a=1', 'b=2'])
    >>> h.items()
    [('Set-Cookie', 'a=1'), ('Content-Type', 'text/plain'), ('set-cookie', 'b=2')]
    >>> list(h)
    ['set-cookie', 'content-type']

    A ``dict`` subclass (as in 2.x): every dict method is overridden to fold the
    case, and plain dict consumers (``dict(h)``, ``{**h}``) see lowercased names
    mapped to what ``h[name]`` returns.
    """

    __slots__ = ("_items",)

    _items: List[_Pair]

    def __init__(self, headers: Optional[HeadersDataType] = None, **kwargs: object) -> None:
        """Build from a mapping, an iterable of pairs or another ``Headers``, plus kwargs.

        Like 2.x, everything is *added*: repeated names (in any case) are all kept, and
        a list or tuple value gives one line per element.
        """
        if headers is None:
            self._items = []
        elif isinstance(headers, Headers):
            self._items = list(headers._items)
            headers._copy_index_to(self)
        else:
            self._fill(_pairs_of(headers))
        if kwargs:
            self.extend(kwargs)

    def _fill(self, pairs: Iterable[Tuple[FieldName, object]]) -> None:
        """Set ``_items`` and the index from ``pairs``, for a new, empty instance."""
        items: List[_Pair] = []
        append = items.append
        for name, value in pairs:
            if type(name) is not str:
                name = _name(name)
            if type(value) is str:
                append((name, value))
            elif isinstance(value, (list, tuple)):
                items.extend([(name, v) for v in _values_of(value)])
            else:
                append((name, _value(value)))
        self._items = items
        self._index_pairs(items)

    def _index_pairs(self, pairs: List[_Pair]) -> None:
        """Add ``pairs`` to the index (the dict level); they are already in ``_items``.

        ``dict.setdefault`` bound to ``self`` once costs per call what a plain dict's
        bound method does, and inserts or finds the entry in one lookup.
        """
        setdefault = _dict_setdefault.__get__(self)
        for pair in pairs:
            entry = setdefault(pair[0].lower(), pair)
            if entry is not pair:
                if type(entry) is tuple:
                    _dict_setitem(self, pair[0].lower(), [entry, pair])
                else:
                    entry.append(pair)

    @classmethod
    def _from_raw_pairs(cls, pairs: Iterable[Tuple[bytes, bytes]]) -> Headers:
        """Fast constructor for the response parser: ``(name bytes, value bytes)`` pairs.

        Both are decoded as latin-1, which maps every byte and so never fails on
        non-UTF-8 values (RFC 9110 section 5.5: field values are octets). No
        validation: the parser already did it.
        """
        return cls._from_str_pairs([(n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs])

    @classmethod
    def _from_str_pairs(cls, pairs: List[_Pair]) -> Headers:
        """Adopt a list of already decoded ``(name, value)`` str pairs, without copying.

        For callers that decoded the whole head in one go; the list must not be
        used by the caller afterwards. ``__init__`` is not run.
        """
        self = cls.__new__(cls)
        self._items = pairs
        # Most heads name each field once: then the index is one comprehension and
        # one update from a plain dict (half of _index_pairs's cost on CPython).
        index = {pair[0].lower(): pair for pair in pairs}
        if len(index) == len(pairs):
            _dict_update(self, index)
        else:  # a name repeated (Set-Cookie...): its entry becomes a list
            self._index_pairs(pairs)
        return self

    # -- internals ------------------------------------------------------------------

    def _copy_index_to(self, clone: Headers) -> None:
        """Give ``clone`` (whose ``_items`` are a copy of ours) its own index."""
        _dict_update(
            clone,
            {k: e if type(e) is tuple else list(e) for k, e in _dict_items(self)},
        )

    def _replace(self, name: str, values: List[str]) -> None:
        """Put ``values`` where the first field called ``name`` was; drop the others."""
        key = name.lower()
        new_pairs = [(name, v) for v in values]
        if not _dict_contains(self, key):
            if new_pairs:
                self._items.extend(new_pairs)
                _dict_setitem(self, key, new_pairs[0] if len(new_pairs) == 1 else new_pairs)
            return
        new_items: List[_Pair] = []
        placed = False
        for pair in self._items:
            if pair[0].lower() == key:
                if not placed:
                    new_items.extend(new_pairs)
                    placed = True
            else:
                new_items.append(pair)
        self._items = new_items
        if not new_pairs:
            _dict_delitem(self, key)
        else:
            _dict_setitem(self, key, new_pairs[0] if len(new_pairs) == 1 else new_pairs)

    # -- mapping protocol -----------------------------------------------------------

    def __getitem__(self, name: str) -> _Lookup:
        """The value; for a field that occurs several times, the list of values (2.x)."""
        entry = _dict_get(self, name.lower() if type(name) is str else _lower(name))
        if type(entry) is tuple:
            return entry[1]
        if entry is None:
            raise KeyError(name)
        return [pair[1] for pair in entry]

    def __setitem__(self, name: FieldName, value: object) -> None:
        """Replace all values of ``name``; a list or tuple sets several values."""
        if type(name) is not str:
            name = _name(name)
        if type(value) is str:
            # Fast path (building a request): a new name with one str value.
            pair = (name, value)
            key = name.lower()
            entry = _dict_setdefault(self, key, pair)
            if entry is pair:
                self._items.append(pair)
                return
            if type(entry) is tuple:
                # The name occurs once (an agent's default replaced by the caller's,
                # on every request): swap that one line where it stands.
                items = self._items
                items[items.index(entry)] = pair
                _dict_setitem(self, key, pair)
                return
            self._replace(name, [value])
        else:
            self._replace(name, _values_of(value))

    def __delitem__(self, name: str) -> None:
        """Remove every field called ``name``; ``KeyError`` if there is none."""
        key = _lower(name)
        if not _dict_contains(self, key):
            raise KeyError(name)
        self._replace(key, [])

    def __contains__(self, name: object) -> bool:
        if type(name) is str:
            return _dict_contains(self, name.lower())
        try:
            key = _lower(name)
        except TypeError:
            return False
        return _dict_contains(self, key)

    def __iter__(self) -> Iterator[str]:
        """Each distinct field name once, lowercased, in first-seen order (2.x).

        Defined here (not inherited) so that ``dict(h)`` and ``{**h}`` read the
        values through ``__getitem__`` instead of copying the index entries.
        """
        return _dict_iter(self)

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(_dict_iter(self)))

    def __len__(self) -> int:
        """The number of field lines, duplicates included (as 2.x)."""
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        """Same names (case-insensitively) with the same values in the same order.

        The relative order of different names does not matter (RFC 9110 section 5.3).
        """
        if isinstance(other, Headers):
            other_headers = other
        elif isinstance(other, Mapping) or hasattr(other, "keys"):
            try:
                other_headers = Headers(other)  # type: ignore[arg-type]
            except TypeError:
                return False
        else:
            return NotImplemented
        return self._comparable() == other_headers._comparable()

    def __ne__(self, other: object) -> bool:
        # Needed: the inherited dict.__ne__ would compare the raw index entries.
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def _comparable(self) -> Dict[str, List[str]]:
        return {key: _values_list(entry) for key, entry in _dict_items(self)}

    __hash__ = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"

    def __str__(self) -> str:
        """One ``Name: value`` line per field, as received (2.x format)."""
        return "\n".join(f"{name}: {value}" for name, value in self._items)

    def __reduce__(self) -> Tuple[object, ...]:
        # The default reduction of a dict subclass would replay the items through
        # __setitem__, which replaces: repeated fields would lose all but one line.
        return (type(self)._from_str_pairs, (list(self._items),), getattr(self, "__dict__", None))

    def __or__(self, other: HeadersDataType) -> Headers:  # type: ignore[override]
        """A copy updated with ``other`` (``dict`` semantics: names in ``other`` replace)."""
        merged = self.copy()
        merged.update(other)
        return merged

    def __ior__(self, other: HeadersDataType) -> Headers:  # type: ignore[override]
        self.update(other)
        return self

    # -- reading --------------------------------------------------------------------

    def get(self, name: str, default: Any = None) -> _Lookup:
        """Like ``h[name]`` (str, or list when repeated), ``default`` when absent."""
        entry = _dict_get(self, name.lower() if type(name) is str else _lower(name))
        if type(entry) is tuple:
            return entry[1]
        if entry is None:
            return default
        return [pair[1] for pair in entry]

    def getlist(self, name: str) -> List[str]:
        """All values of ``name`` in order (a new list); ``[]`` when absent."""
        entry = _dict_get(self, _lower(name))
        return [] if entry is None else _values_list(entry)

    # Names 2.x kept for httplib/cookielib callers.
    getheaders = getlist
    getallmatchingheaders = getlist
    iget = getlist

    def get_all(self, name: str, failobj: Optional[_T] = None) -> Union[List[str], _T, None]:
        """All values of ``name``, or ``failobj`` when absent.

        This is :meth:`email.message.Message.get_all`, which is what
        :mod:`http.cookiejar` and :mod:`urllib` call on ``response.info()``.
        """
        entry = _dict_get(self, _lower(name))
        return failobj if entry is None else _values_list(entry)

    def keys(self) -> KeysView[str]:  # type: ignore[override]
        """A view of each distinct name once, lowercased; ``in`` ignores case (2.x)."""
        return _NamesView(self)

    def values(self) -> ValuesView[_Lookup]:  # type: ignore[override]
        """A view of ``h[name]`` for each name of :meth:`keys`, in the same order (2.x)."""
        return _ValuesView(self)

    def items(self) -> List[_Pair]:  # type: ignore[override]
        """Every field line as ``(name, value)``, duplicates included, in order (2.x)."""
        return list(self._items)

    def iteroriginal(self) -> Iterator[_Pair]:
        """Iterate over every field line in original case (2.x)."""
        return iter(list(self._items))

    iteritems = iteroriginal

    def iterlower(self) -> Iterator[_Pair]:
        """Iterate over every field line with the name lowercased (2.x)."""
        return iter([(name.lower(), value) for name, value in self._items])

    def itermerged(self) -> Iterator[_Pair]:
        """Each distinct name once, in its first-seen case, with its values joined by
        ``", "`` (2.x). Lossy for ``Set-Cookie`` (RFC 9110 section 5.3); use
        :meth:`getlist` there.
        """
        return iter([(_first_name(e), ", ".join(_values_list(e))) for e in _dict_values(self)])

    def compatible_dict(self) -> Dict[str, str]:
        """A plain dict of merged values, for code that expects one (2.x)."""
        return dict(self.itermerged())

    @staticmethod
    def _format_field(name: str) -> str:
        return "-".join(part.capitalize() for part in name.split("-"))

    def pretty_items(self) -> Iterator[_Pair]:
        """Every field line with the name capitalised per word: ``Content-Type`` (2.x)."""
        fmt = self._format_field
        return iter([(fmt(name), value) for name, value in self._items])

    # -- writing --------------------------------------------------------------------

    def add(self, name: FieldName, value: object) -> None:
        """Append a field line, keeping any existing ones of that name.

        A list or tuple value appends one line per element, in order (2.x).
        """
        if type(name) is not str:
            name = _name(name)
        if type(value) is not str:
            if isinstance(value, (list, tuple)):
                for v in value:
                    self.add(name, v)
                return
            value = _value(value)
        pair = (name, value)
        self._items.append(pair)
        key = name.lower()
        entry = _dict_setdefault(self, key, pair)
        if entry is not pair:
            if type(entry) is tuple:
                _dict_setitem(self, key, [entry, pair])
            else:
                entry.append(pair)

    def extend(self, other: HeadersDataType = (), **kwargs: object) -> None:
        """:meth:`add` everything from a ``Headers``, mapping, object with ``keys()``
        (e.g. :class:`email.message.Message`) or iterable of pairs, then ``kwargs``.

        A list or tuple value adds one line per element.
        """
        add = self.add
        for name, value in list(_pairs_of(other)):
            add(name, value)
        for name, value in kwargs.items():
            add(name, value)

    def update(self, other: HeadersDataType = (), **kwargs: object) -> None:  # type: ignore[override]
        """Replace the fields named in ``other`` and ``kwargs`` (dict semantics, as 2.x).

        From a ``Headers`` (or a mapping with list values) every value of a name is
        carried over; within ``other``, a later case variant of a name wins.
        """
        if isinstance(other, Headers):
            for entry in list(_dict_values(other)):
                self[_first_name(entry)] = _values_list(entry)
        elif isinstance(other, Mapping):
            for name, value in list(other.items()):
                self[name] = value
        elif hasattr(other, "keys"):  # email.message.Message and the like (2.x)
            message: Any = other
            for name in message.keys():
                self[name] = message[name]
        else:
            for name, value in _pairs_of(other):  # the pairs themselves
                self[name] = value
        for name, value in kwargs.items():
            self[name] = value

    def pop(self, name: str, default: Any = _MISSING) -> _Lookup:
        """Remove ``name`` and return what ``h[name]`` returned, or ``default``."""
        key = _lower(name)
        entry = _dict_get(self, key)
        if entry is None:
            if default is _MISSING:
                raise KeyError(name)
            return default
        self._replace(key, [])
        return _value_of(entry)

    def popitem(self) -> Tuple[str, _Lookup]:
        """Remove the most recently first-seen name; return ``(lowercased name, h[name])``."""
        if not self._items:
            raise KeyError("popitem(): headers are empty")
        key = next(reversed(list(_dict_iter(self))))
        return key, self.pop(key)

    def setdefault(self, name: str, default: object = "") -> _Lookup:
        """``h[name]`` if present, else set it to ``default`` and return that (2.x)."""
        entry = _dict_get(self, _lower(name))
        if entry is not None:
            return _value_of(entry)
        self[name] = default
        return default

    def discard(self, name: str) -> None:
        """Remove ``name`` if present; no error otherwise (2.x)."""
        key = _lower(name)
        if _dict_contains(self, key):
            self._replace(key, [])

    def clear(self) -> None:
        _dict_clear(self)
        self._items = []

    def copy(self) -> Headers:
        """An independent copy of the same type."""
        clone = type(self).__new__(type(self))
        items = clone._items = list(self._items)
        if len(items) == _dict_len(self):
            # Every name once: the index holds only the (immutable) pairs themselves.
            _dict_update(clone, _dict_items(self))
        else:
            self._copy_index_to(clone)
        return clone

    __copy__ = copy


def parse_content_type_charset(content_type: str) -> Optional[str]:
    """The ``charset`` parameter of a Content-Type value, lowercased; ``None`` if absent.

    The parameter name matches case-insensitively; quotes and surrounding
    whitespace are stripped (2.x helper, kept for code that imports it).
    """
    for parameter in content_type.split(";")[1:]:
        name, eq, value = parameter.partition("=")
        if eq and name.strip().lower() == "charset":
            charset = value.strip().strip("\"'").strip().lower()
            return charset or None
    return None


class HeadAccess:
    """2.x's way to read a response's head from the response itself:
    ``response["Name"]``, ``get``, ``items``/``iteritems``, ``in``, ``info()``, all
    over ``self.headers``. Shared by the streaming and the sans-IO response."""

    __slots__ = ()
    if TYPE_CHECKING:  # an attribute or a property of the class that uses it

        @property
        def headers(self) -> Headers: ...

    def __getitem__(self, key: str) -> _Lookup:
        return self.headers[key]

    def get(self, key: str, default: Any = None) -> _Lookup:
        return self.headers.get(key, default)

    def items(self) -> List[_Pair]:
        return self.headers.items()

    iteritems = items

    def __contains__(self, key: str) -> bool:
        return key in self.headers

    def info(self) -> Headers:
        """The headers, as ``http.cookiejar`` expects from ``info()``."""
        return self.headers
