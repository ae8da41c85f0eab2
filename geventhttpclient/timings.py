"""Where a request's time went: :class:`Timings`, on every response.

Every response of this package carries ``response.timings``: how long the request
waited for a connection, how long the connection took to make (name lookup, TCP,
TLS) when it was new, how long sending took, how long the server took to start
answering and how long the body took. A load test reads them to tell server time
from client-side queueing; an API client, to see a slow resolver or a handshake per
request.

Cost: the request path reads the clock twice for a response whose body comes with
its head (when it has a connection, when the head is in), once more when the body's
first bytes come later, once more when the body ends later and once more when
sending had to wait for the socket, and keeps the
readings on the response; the :class:`Timings` object is made only when asked for.
A request without a body sends its head in one non-blocking write: its ``send`` is
0.0 unless that write had to wait. Phases that did not happen
(no name lookup for an IP address or a reused connection, no TLS over plain TCP)
are ``None``, never 0.0.

Trace hooks
-----------
``HTTPClient(..., trace=hook)`` (also ``UserAgent``, ``Session``) calls
``hook(name, info)`` at each step, in the calling greenlet, with ``info`` a dict
(contents below are for reading; add nothing expensive to a hook: it runs inside
the request). The names: ``pool.acquire.started``, ``pool.acquire.complete``
(``reused``, ``queued``), ``dns.resolve.started`` (``host``, ``port``),
``dns.resolve.complete`` (``addresses``), ``connect_tcp.started`` (``host``,
``port``), ``connect_tcp.complete`` (``local_address``, ``remote_address``),
``start_tls.started`` (``server_hostname``), ``start_tls.complete``
(``version``, ``cipher``, ``resumed``), ``send_request.started`` (``method``),
``send_request.complete`` (``bytes``),
``receive_response_headers.started``, ``receive_response_headers.complete``
(``status_code``), ``receive_response_body.complete`` (``bytes``),
``connection.released`` (``requests``: served on it so far),
``connection.closed`` (``reason``); and from the agents (``UserAgent``,
``Session``) ``retry`` (``attempt``, ``error`` or ``status_code``, ``delay``) and
``redirect`` (``status_code``, ``location``). A reused connection has no dns,
connect or TLS events. A hook that raises fails the request with its exception; the
connection in use is closed, and its pool slot is freed.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional

__all__ = ["Timings", "ConnectPhases", "TraceHook", "clock"]

TraceHook = Callable[[str, Dict[str, Any]], Any]
"""``hook(name, info)``: see the module docstring for the names."""

clock = time.perf_counter
"""The clock of every timing (seconds, monotonic, the finest the platform has)."""


class ConnectPhases:
    """How one connection was opened: filled in by the connection factory.

    ``dns``, ``connect`` and ``tls`` are seconds or None (no lookup: an IP address or
    a ``resolve=`` override; no TLS); ``tls_resumed`` is None without TLS.
    ``trace`` is the hook to tell, or None.
    """

    __slots__ = ("trace", "dns", "connect", "tls", "tls_resumed")

    def __init__(self, trace: Optional[TraceHook] = None) -> None:
        self.trace = trace
        self.dns: Optional[float] = None
        self.connect: Optional[float] = None
        self.tls: Optional[float] = None
        self.tls_resumed: Optional[bool] = None


def _ms(seconds: Optional[float]) -> float:
    return -1.0 if seconds is None else round(seconds * 1000.0, 3)


class Timings:
    """The phases of one request (one exchange: each redirect hop has its own).

    All in float seconds: ``queued`` (waiting for a free connection in the pool;
    0.0 when there was no wait), ``dns``, ``connect`` (TCP, and a proxy's handshake), ``tls`` (the
    handshake), ``send`` (head and body), ``wait`` (from the end of sending to the
    response head received in full: the server's time plus one round trip),
    ``receive`` (the body, until its last byte was read), ``total`` (from the call
    to the end of the body), ``elapsed`` (from the call to the response head: what
    requests calls ``Response.elapsed``), ``first_body_byte`` (from the call to the
    arrival of the body's first bytes: on a stream whose head comes first, such as
    server-sent events, the time to its first data; None without a body or until
    it arrives). ``receive`` and ``total`` are None while the body is
    still being read; ``dns``, ``connect`` and ``tls`` are None on a reused
    connection and when the phase did not happen. ``reused``: the connection had
    served a request before. ``tls_resumed``: the handshake resumed a TLS session
    (None without a handshake). ``bytes_sent``, ``bytes_received``: the request
    and response as they went over the connection (head and framed body; before
    TLS). A snapshot: read ``response.timings`` again after the body for its end.
    """

    __slots__ = (
        "queued",
        "dns",
        "connect",
        "tls",
        "send",
        "wait",
        "receive",
        "total",
        "elapsed",
        "first_body_byte",
        "reused",
        "tls_resumed",
        "bytes_sent",
        "bytes_received",
    )

    def __init__(
        self,
        *,
        queued: float = 0.0,
        dns: Optional[float] = None,
        connect: Optional[float] = None,
        tls: Optional[float] = None,
        send: Optional[float] = None,
        wait: Optional[float] = None,
        receive: Optional[float] = None,
        total: Optional[float] = None,
        elapsed: Optional[float] = None,
        first_body_byte: Optional[float] = None,
        reused: bool = False,
        tls_resumed: Optional[bool] = None,
        bytes_sent: int = 0,
        bytes_received: int = 0,
    ) -> None:
        self.queued = queued
        self.dns = dns
        self.connect = connect
        self.tls = tls
        self.send = send
        self.wait = wait
        self.receive = receive
        self.total = total
        self.elapsed = elapsed
        self.first_body_byte = first_body_byte
        self.reused = reused
        self.tls_resumed = tls_resumed
        self.bytes_sent = bytes_sent
        self.bytes_received = bytes_received

    def as_dict(self) -> Dict[str, float]:
        """The HAR 1.2 ``timings`` object: ``blocked, dns, connect, ssl, send, wait,
        receive`` in milliseconds, -1 where a phase does not apply, ``connect``
        including ``ssl`` (HAR's rule), ``blocked`` the pool wait."""
        connect = self.connect
        if connect is not None and self.tls is not None:
            connect += self.tls
        return {
            "blocked": _ms(self.queued),
            "dns": _ms(self.dns),
            "connect": _ms(connect),
            "ssl": _ms(self.tls),
            "send": _ms(self.send),
            "wait": _ms(self.wait),
            "receive": _ms(self.receive),
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timings):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"Timings({fields})"
