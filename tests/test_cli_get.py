"""``geventhttpclient get`` with curl's flags, against the embedded server's routes;
and both commands stopping quietly when the reader of their output goes away."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List, Tuple

import gevent.subprocess
import pytest

import geventhttpclient
from geventhttpclient.__main__ import EXIT_BROKEN_PIPE, main
from geventhttpclient._cli.get import DEFAULT_MAX_REDIRECTS
from geventhttpclient._cli.localserver import GZIP_TEXT, RESPONSE_BODY, LocalServer

# The command runs in the test's own greenlet: loading the system's CA bundle for a
# TLS context and PyPy compiling the command's first run keep the hub from running for
# more than the default limit, without any socket blocking it.
pytestmark = pytest.mark.hub_block_limit(1.0)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer() as s:
        yield s


def get(capsysbinary, *args: str) -> Tuple[int, bytes, str]:
    """Run ``geventhttpclient get ARGS`` in this process: (exit status, stdout, stderr)."""
    status = main(["get", *args])
    out, err = capsysbinary.readouterr()
    return status, out, err.decode()


def echo(capsysbinary, *args: str) -> dict:
    status, out, err = get(capsysbinary, *args)
    assert status == 0, err
    return json.loads(out)


def header(echoed: dict, name: str) -> List[str]:
    return [v for n, v in echoed["headers"] if n.lower() == name.lower()]


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """The command in a child process (the same geventhttpclient as this one); waited
    for cooperatively, as the server it talks to runs in this process's hub."""
    return gevent.subprocess.run(
        [sys.executable, "-m", "geventhttpclient", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        cwd="/",
        env=child_env(),
    )


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(geventhttpclient.__file__).resolve().parent.parent)
    return env


def test_default_output_is_the_body_alone(server, capsysbinary) -> None:
    status, out, err = get(capsysbinary, server.url)
    assert (status, out, err) == (0, RESPONSE_BODY, "")


def test_include_writes_the_response_head_first(server, capsysbinary) -> None:
    status, out, _ = get(capsysbinary, "-i", server.url)
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert f"Content-Length: {len(RESPONSE_BODY)}".encode() in lines
    assert body == RESPONSE_BODY and status == 0


def test_request_method_and_repeated_headers(server, capsysbinary) -> None:
    echoed = echo(
        capsysbinary, "-X", "delete", "-H", "X-One: 1", "-H", "X-Two:  two ", server.url + "echo"
    )
    assert echoed["method"] == "DELETE" and echoed["body"] == ""
    assert header(echoed, "X-One") == ["1"] and header(echoed, "X-Two") == ["two"]


def test_data_makes_a_form_post_and_repeats_join_with_ampersand(server, capsysbinary) -> None:
    echoed = echo(capsysbinary, "-d", "a=1", "-d", "b=2", server.url + "echo")
    assert echoed["method"] == "POST" and echoed["body"] == "a=1&b=2"
    assert header(echoed, "Content-Type") == ["application/x-www-form-urlencoded"]
    # -H replaces the default Content-Type, -X the method.
    echoed = echo(
        capsysbinary, "-X", "PUT", "-d", "x", "-H", "content-type: text/plain", server.url + "echo"
    )
    assert echoed["method"] == "PUT" and header(echoed, "Content-Type") == ["text/plain"]


def test_data_from_a_file_is_sent_byte_for_byte(server, capsysbinary, tmp_path) -> None:
    path = tmp_path / "body.bin"
    path.write_bytes(b"line one\r\nline two\n\x00\xff")
    echoed = echo(capsysbinary, "-d", f"@{path}", server.url + "echo")
    assert echoed["body"].encode("latin-1") == b"line one\r\nline two\n\x00\xff"
    status, _, err = get(capsysbinary, "-d", f"@{tmp_path / 'missing'}", server.url + "echo")
    assert status == 1 and err.startswith("error: cannot read") and "Traceback" not in err


def test_data_from_stdin(server) -> None:
    result = run("get", "--json", "@-", server.url + "echo", stdin=b'{"from": "stdin"}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["body"] == '{"from": "stdin"}'


def test_json_sends_the_body_and_asks_for_json(server, capsysbinary) -> None:
    echoed = echo(capsysbinary, "--json", '{"x": 1}', server.url + "echo")
    assert echoed["method"] == "POST" and json.loads(echoed["body"]) == {"x": 1}
    assert header(echoed, "Content-Type") == ["application/json"]
    assert header(echoed, "Accept") == ["application/json"]


def test_header_without_value_drops_a_default(server, capsysbinary) -> None:
    echoed = echo(capsysbinary, "--json", "{}", "-H", "Accept:", server.url + "echo")
    assert header(echoed, "Accept") == [] and header(echoed, "Content-Type") == ["application/json"]
    status, _, err = get(capsysbinary, "-H", "no colon", server.url)
    assert status == 1 and err.startswith("error: -H")


def test_output_file(server, capsysbinary, tmp_path) -> None:
    path = tmp_path / "out.bin"
    status, out, _ = get(capsysbinary, "-o", str(path), server.url + "bytes/100000")
    assert status == 0 and out == b""
    assert path.read_bytes() == b"b" * 100000


def test_verbose_shows_both_heads_on_stderr(server, capsysbinary) -> None:
    status, out, err = get(capsysbinary, "-v", "-H", "X-Mine: yes", server.url + "status/201")
    assert status == 0 and out == b"201\n"
    lines = err.splitlines()
    assert f"* Connected to 127.0.0.1 port {server.port}" in lines
    sent = [line[2:] for line in lines if line.startswith("> ")]
    assert sent[0] == "GET /status/201 HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}" in sent and "X-Mine: yes" in sent
    received = [line[2:] for line in lines if line.startswith("< ")]
    assert received[0] == "HTTP/1.1 201 Created" and "Content-Length: 4" in received
    # In the order things happened; each head ends with its bare prefix, as curl's does.
    connected = lines.index(f"* Connected to 127.0.0.1 port {server.port}")
    assert connected < lines.index("> GET /status/201 HTTP/1.1") < lines.index(">")
    assert lines.index(">") < lines.index("< HTTP/1.1 201 Created") < lines.index("<")


def test_redirects_are_followed_only_with_location(server, capsysbinary) -> None:
    status, out, _ = get(capsysbinary, server.url + "redirect?to=/status/201")
    assert (status, out) == (0, b"redirect to /status/201\n")
    status, out, _ = get(capsysbinary, "-L", server.url + "redirect?n=3&to=/status/201")
    assert (status, out) == (0, b"201\n")


def test_include_with_location_shows_every_head(server, capsysbinary) -> None:
    status, out, _ = get(capsysbinary, "-i", "-L", server.url + "redirect?to=/")
    assert out.count(b"HTTP/1.1 302 Found\r\n") == 1 and out.count(b"HTTP/1.1 200 OK\r\n") == 1
    assert out.endswith(b"\r\n\r\n" + RESPONSE_BODY)


def test_post_becomes_get_after_302(server, capsysbinary) -> None:
    echoed = echo(capsysbinary, "-L", "-d", "x=1", server.url + "redirect?to=/echo")
    assert echoed["method"] == "GET" and echoed["body"] == ""
    assert header(echoed, "Content-Type") == [] and header(echoed, "Content-Length") in ([], ["0"])


def test_too_many_redirects(server, capsysbinary) -> None:
    status, _, err = get(capsysbinary, "-L", "--max-redirs", "2", server.url + "redirect?n=5&to=/")
    assert status == 1 and err == "error: maximum (2) redirects followed\n"
    hops = DEFAULT_MAX_REDIRECTS
    assert get(capsysbinary, "-L", server.url + f"redirect?n={hops - 1}&to=/")[1] == RESPONSE_BODY
    assert get(capsysbinary, "-L", server.url + f"redirect?n={hops}&to=/")[0] == 1


def test_compressed_asks_and_decodes(server, capsysbinary) -> None:
    status, out, err = get(capsysbinary, "--compressed", "-v", server.url + "gzip")
    assert (status, out) == (0, GZIP_TEXT)
    assert any(line.startswith("> Accept-Encoding: gzip") for line in err.splitlines())
    assert "< Content-Encoding: gzip" in err.splitlines()
    status, out, err = get(capsysbinary, "-v", server.url + "gzip")
    assert out == GZIP_TEXT and "> Accept-Encoding" not in err  # not asked: sent plain


def test_error_status_gives_exit_status_1_and_the_body(server, capsysbinary) -> None:
    assert get(capsysbinary, server.url + "status/404") == (1, b"404\n", "")
    assert get(capsysbinary, "-X", "HEAD", server.url + "status/503")[:2] == (1, b"")


def test_insecure_accepts_an_unknown_certificate(server_ssl_context, capsysbinary) -> None:
    with LocalServer(tls=server_ssl_context) as tls_server:
        status, out, err = get(capsysbinary, tls_server.url)
        assert status == 1 and out == b"" and err.startswith("error: ")
        assert "Traceback" not in err
        assert get(capsysbinary, "-k", tls_server.url) == (0, RESPONSE_BODY, "")


def test_get_in_a_child_process(server) -> None:
    result = run("get", "-i", server.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"HTTP/1.1 200 OK\r\n") and result.stdout.endswith(
        RESPONSE_BODY
    )
    assert "follow redirects" in run("get", "--help").stdout.decode()


# -- a reader that goes away -------------------------------------------------------


def read_then_close(args: List[str], size: int) -> Tuple[int, bytes, bytes]:
    """Start the command with stdout a pipe, read ``size`` bytes, close the pipe (as
    ``| head -c SIZE`` does) and return (exit status, what was read, stderr)."""
    child = gevent.subprocess.Popen(
        [sys.executable, "-m", "geventhttpclient", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd="/",
        env=child_env(),
    )
    assert child.stdout is not None and child.stderr is not None
    first = child.stdout.read(size) if size else b""
    child.stdout.close()
    err = child.stderr.read()
    return child.wait(timeout=60), first, err


def test_get_stops_quietly_when_the_pipe_closes(server) -> None:
    # 20 MB: far more than a pipe buffers, so the writes after the close fail.
    status, first, err = read_then_close(["get", server.url + "bytes/20000000"], 10)
    assert first == b"b" * 10
    assert (status, err) == (EXIT_BROKEN_PIPE, b"")


def test_bench_stops_quietly_when_the_pipe_closes(server) -> None:
    # Closed before the run ends: the summary's first write meets the closed pipe
    # (a summary fits in a pipe's buffer, so a reader that read first would not do).
    status, _, err = read_then_close(["bench", server.url, "-n", "2000", "-c", "2"], 0)
    assert (status, err) == (EXIT_BROKEN_PIPE, b"")


# -- -x/--proxy and --unix-socket (curl's flags) ------------------------------------------


def test_proxy_flag_goes_through_a_socks_proxy(server, capsysbinary) -> None:
    from socksserver import SocksServer

    with SocksServer(user="u", password="p") as socks:
        status, out, err = get(capsysbinary, "-x", socks.url("socks5h", "u", "p"), server.url)
        assert (status, out, err) == (0, RESPONSE_BODY, "")
        assert [r.version for r in socks.requests] == [5]


def test_unix_socket_flag_connects_to_the_socket(capsysbinary, tmp_path) -> None:
    from conftest import ScriptedServer, echo_json, keep_alive

    path = str(tmp_path / "g.sock")
    if len(path) > 100:
        pytest.skip("temporary directory path too long for a Unix socket")
    unix = ScriptedServer(keep_alive(echo_json), uds=path)
    try:
        status, out, err = get(capsysbinary, "--unix-socket", path, "http://docker/v1/info")
    finally:
        unix.stop()
    assert status == 0, err
    seen = json.loads(out)
    assert seen["target"] == "/v1/info" and seen["headers"]["host"] == ["docker"]


def test_a_bad_proxy_url_is_an_error_not_a_direct_connection(server, capsysbinary) -> None:
    status, out, err = get(capsysbinary, "-x", "ftp://127.0.0.1:21", server.url)
    assert status != 0 and out == b""
    assert "proxy" in err
