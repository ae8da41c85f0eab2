"""Case-insensitive, order-preserving, multi-valued HTTP header fields.

:class:`Headers` keeps every field line as an ``(original name, value)`` pair in the
order it was added or received, because that is the truth of the message: the
order of repeated fields is significant (RFC 9110 section 5.3) and ``Set-Cookie``
lines must never be merged. Lookups go through a dict keyed by the lowercased name,
built lazily, so a response whose headers are never looked up (or only iterated)
costs one list of decoded pairs and nothing more.

It follows the 2.x ``Headers`` API: ``h[name]`` is the value, or the list of values
when the field occurs more than once; ``items()`` lists every line, duplicates
included, in original case; ``len()`` counts lines; ``update`` and ``h[name] = v``
replace, ``add`` and ``extend`` append.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

__all__ = ["Headers", "HeadersDataType"]

#: What the client accepts wherever headers are passed in.
HeadersDataType = Union[Mapping[str, Any], Iterable[Tuple[Any, Any]], "Headers"]

_Pair = Tuple[str, str]
# lowercased name -> [name as first seen, value, value, ...]; flat so that the common
# single-valued field costs one small list, and the first-seen case comes for free.
_Index = Dict[str, List[str]]

_MISSING: Any = object()


def _name(name: Any) -> str:
    """Coerce a field name to ``str``; bytes are latin-1 (every byte maps, none fails)."""
    if type(name) is str:
        return name
    if isinstance(name, (bytes, bytearray)):
        return bytes(name).decode("latin-1")
    if isinstance(name, str):
        return str(name)
    raise TypeError(f"header names must be str or bytes, not {type(name).__name__}")


def _value(value: Any) -> str:
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


def _lower(name: Any) -> str:
    """The lookup key for ``name``; ``TypeError`` for non-string names (as 2.x)."""
    if type(name) is str:
        return name.lower()
    return _name(name).lower()


def _values_of(value: Any) -> List[str]:
    """A list/tuple value stands for several field lines, anything else for one."""
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    return [_value(value)]


class Headers(MutableMapping):  # type: ignore[type-arg]
    """HTTP header fields: case-insensitive lookup, original case and order kept.

    >>> h = Headers([("Set-Cookie", "a=1"), ("Content-Type", "text/plain")])
    >>> h.add("set-cookie", "b=2")
    >>> h["content-type"], h["SET-COOKIE"]
    ('text/plain', ['a=1', 'b=2'])
    >>> h.items()
    [('Set-Cookie', 'a=1'), ('Content-Type', 'text/plain'), ('set-cookie', 'b=2')]

    Not a ``dict`` subclass (2.x was one): the builtin dict methods would bypass
    the case folding and expose the internal layout.
    """

    __slots__ = ("_items", "_index")

    _items: List[_Pair]
    _index: Optional[_Index]

    def __init__(self, headers: Optional[HeadersDataType] = None, **kwargs: Any) -> None:
        """Build from a mapping, an iterable of pairs or another ``Headers``, plus kwargs.

        Like 2.x, everything is *added*: repeated names (in any case) are all kept.
        """
        if headers is not None and type(headers) is Headers:
            self._items = list(headers._items)
            self._index = None
        else:
            self._items = []
            self._index = {}
            if headers is not None:
                self.extend(headers)
        if kwargs:
            self.extend(kwargs)

    @classmethod
    def _from_raw_pairs(cls, pairs: Iterable[Tuple[bytes, bytes]]) -> Headers:
        """Fast constructor for the response parser: ``(name bytes, value bytes)`` pairs.

        Both are decoded as latin-1, which maps every byte and so never fails on
        non-UTF-8 values (RFC 9110 section 5.5: field values are octets). The lookup
        index is not built here but on the first lookup; iterating or counting the
        fields never needs it. No validation: the parser already did it.
        """
        self = cls.__new__(cls)
        self._items = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs]
        self._index = None
        return self

    @classmethod
    def _from_str_pairs(cls, pairs: List[_Pair]) -> Headers:
        """Adopt a list of already decoded ``(name, value)`` str pairs, without copying.

        For callers that decoded the whole head in one go; the list must not be
        used by the caller afterwards.
        """
        self = cls.__new__(cls)
        self._items = pairs
        self._index = None
        return self

    # -- internals ------------------------------------------------------------------

    def _build_index(self) -> _Index:
        index: _Index = {}
        get = index.get
        for name, value in self._items:
            key = name.lower()
            entry = get(key)
            if entry is None:
                index[key] = [name, value]
            else:
                entry.append(value)
        self._index = index
        return index

    def _entry(self, key: str) -> Optional[List[str]]:
        index = self._index
        if index is None:
            index = self._build_index()
        return index.get(key)

    def _replace(self, name: str, values: List[str]) -> None:
        """Put ``values`` where the first field called ``name`` was; drop the others."""
        key = name.lower()
        index = self._index
        if index is None:
            index = self._build_index()
        if key not in index:
            if values:
                self._items.extend([(name, v) for v in values])
                index[key] = [name, *values]
            return
        new_items: List[_Pair] = []
        placed = False
        for pair in self._items:
            if pair[0].lower() == key:
                if not placed:
                    new_items.extend([(name, v) for v in values])
                    placed = True
            else:
                new_items.append(pair)
        self._items = new_items
        if values:
            index[key] = [name, *values]
        else:
            del index[key]

    # -- mapping protocol -----------------------------------------------------------

    def __getitem__(self, name: str) -> Any:
        """The value; for a field that occurs several times, the list of values (2.x)."""
        entry = self._entry(_lower(name))
        if entry is None:
            raise KeyError(name)
        return entry[1] if len(entry) == 2 else entry[1:]

    def __setitem__(self, name: str, value: Any) -> None:
        """Replace all values of ``name``; a list or tuple sets several values."""
        if type(name) is not str:
            name = _name(name)
        key = name.lower()
        index = self._index
        if type(value) is str:
            if index is not None and key not in index:
                # Fast path (building a request): a new name with one str value.
                self._items.append((name, value))
                index[key] = [name, value]
                return
            values = [value]
        else:
            values = _values_of(value)
        self._replace(name, values)

    def __delitem__(self, name: str) -> None:
        """Remove every field called ``name``; ``KeyError`` if there is none."""
        key = _lower(name)
        if self._entry(key) is None:
            raise KeyError(name)
        self._replace(key, [])

    def __contains__(self, name: object) -> bool:
        try:
            key = _lower(name)
        except TypeError:
            return False
        return self._entry(key) is not None

    def __iter__(self) -> Iterator[str]:
        """Each distinct field name once, in the case it was first seen."""
        index = self._index
        if index is None:
            index = self._build_index()
        return iter([entry[0] for entry in index.values()])

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

    def _comparable(self) -> Dict[str, List[str]]:
        index = self._index
        if index is None:
            index = self._build_index()
        return {key: entry[1:] for key, entry in index.items()}

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"

    def __str__(self) -> str:
        """One ``Name: value`` line per field, as received (2.x format)."""
        return "\n".join(f"{name}: {value}" for name, value in self._items)

    # -- reading --------------------------------------------------------------------

    def get(self, name: str, default: Any = None) -> Any:
        """Like ``h[name]`` (str, or list when repeated), ``default`` when absent."""
        entry = self._entry(_lower(name))
        if entry is None:
            return default
        return entry[1] if len(entry) == 2 else entry[1:]

    def getlist(self, name: str) -> List[str]:
        """All values of ``name`` in order (a new list); ``[]`` when absent."""
        entry = self._entry(_lower(name))
        return [] if entry is None else entry[1:]

    # Names 2.x kept for httplib/cookielib callers.
    getheaders = getlist
    getallmatchingheaders = getlist
    iget = getlist

    def get_all(self, name: str, failobj: Any = None) -> Any:
        """All values of ``name``, or ``failobj`` when absent.

        This is :meth:`email.message.Message.get_all`, which is what
        :mod:`http.cookiejar` and :mod:`urllib` call on ``response.info()``.
        """
        entry = self._entry(_lower(name))
        return failobj if entry is None else entry[1:]

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

    def keys(self) -> List[str]:  # type: ignore[override]
        """Each distinct name once, in first-seen case and order."""
        return list(self)

    def values(self) -> List[str]:  # type: ignore[override]
        """Every value, in the same order as :meth:`items`."""
        return [value for _, value in self._items]

    def itermerged(self) -> Iterator[_Pair]:
        """Each distinct name once with its values joined by ``", "`` (2.x).

        Lossy for ``Set-Cookie`` (RFC 9110 section 5.3); use :meth:`getlist` there.
        """
        index = self._index
        if index is None:
            index = self._build_index()
        return iter([(entry[0], ", ".join(entry[1:])) for entry in index.values()])

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

    def add(self, name: Any, value: Any) -> None:
        """Append a field line, keeping any existing ones of that name."""
        name = _name(name)
        value = _value(value)
        self._items.append((name, value))
        index = self._index
        if index is not None:
            key = name.lower()
            entry = index.get(key)
            if entry is None:
                index[key] = [name, value]
            else:
                entry.append(value)

    def extend(self, other: Any = (), **kwargs: Any) -> None:
        """:meth:`add` everything from a ``Headers``, mapping, object with ``keys()``
        (e.g. :class:`email.message.Message`) or iterable of pairs, then ``kwargs``.

        A list or tuple value in a mapping adds one line per element.
        """
        add = self.add
        if isinstance(other, Headers):
            for name, value in other._items:
                add(name, value)
        elif isinstance(other, Mapping):
            for name, value in other.items():
                for v in _values_of(value):
                    add(name, v)
        elif hasattr(other, "keys"):
            for name in other.keys():
                for v in _values_of(other[name]):
                    add(name, v)
        else:
            for name, value in other:
                add(name, value)
        for name, value in kwargs.items():
            for v in _values_of(value):
                add(name, v)

    def update(self, other: Any = (), **kwargs: Any) -> None:  # type: ignore[override]
        """Replace the fields named in ``other`` and ``kwargs`` (dict semantics, as 2.x).

        From a ``Headers`` (or a mapping with list values) every value of a name is
        carried over; within ``other``, a later case variant of a name wins.
        """
        if isinstance(other, Headers):
            index = other._index
            if index is None:
                index = other._build_index()
            for entry in index.values():
                self[entry[0]] = entry[1:]
        elif isinstance(other, Mapping):
            for name, value in other.items():
                self[name] = value
        elif hasattr(other, "keys"):
            for name in other.keys():
                self[name] = other[name]
        else:
            for name, value in other:
                self[name] = value
        for name, value in kwargs.items():
            self[name] = value

    def pop(self, name: str, default: Any = _MISSING) -> Any:
        """Remove ``name`` and return what ``h[name]`` returned, or ``default``."""
        key = _lower(name)
        entry = self._entry(key)
        if entry is None:
            if default is _MISSING:
                raise KeyError(name)
            return default
        self._replace(key, [])
        return entry[1] if len(entry) == 2 else entry[1:]

    def setdefault(self, name: str, default: Any = None) -> Any:
        """``h[name]`` if present, else add ``default`` and return it."""
        entry = self._entry(_lower(name))
        if entry is not None:
            return entry[1] if len(entry) == 2 else entry[1:]
        self[name] = default
        return default

    def discard(self, name: str) -> None:
        """Remove ``name`` if present; no error otherwise (2.x)."""
        key = _lower(name)
        if self._entry(key) is not None:
            self._replace(key, [])

    def clear(self) -> None:
        self._items = []
        self._index = {}

    def copy(self) -> Headers:
        """An independent copy of the same type."""
        clone = type(self).__new__(type(self))
        clone._items = list(self._items)
        clone._index = None
        return clone

    __copy__ = copy
