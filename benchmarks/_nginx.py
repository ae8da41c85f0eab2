"""A private nginx for the benchmarks: own config in a temp dir, ephemeral port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

SMALL_SIZE = 614
BIG_SIZE = 100 * 1024 * 1024

CONF = """\
worker_processes 1;
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
worker_rlimit_nofile 65536;
{user}
events {{
    worker_connections 8192;
    multi_accept on;
}}
http {{
    access_log off;
    client_body_temp_path {tmp}/t_body;
    proxy_temp_path {tmp}/t_proxy;
    fastcgi_temp_path {tmp}/t_fcgi;
    uwsgi_temp_path {tmp}/t_uwsgi;
    scgi_temp_path {tmp}/t_scgi;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    server_tokens off;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {www};
        location = /small {{ default_type text/html; alias {www}/small.html; }}
        location = /json {{ default_type application/json; alias {www}/small.json; }}
        location = /gzip {{
            default_type text/plain;
            gzip on;
            gzip_types text/plain;
            gzip_min_length 0;
            gzip_comp_level 1;
            gzip_http_version 1.1;
            chunked_transfer_encoding on;
            alias {www}/text.txt;
        }}
        location = /big {{ alias {www}/big.bin; }}
    }}
}}
"""


def find_nginx() -> str:
    for c in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if c and os.path.exists(c):
            return c
    print("nginx not found: apt-get install -y nginx-light")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], env=env)
    if subprocess.run(["apt-get", "install", "-y", "-q", "nginx-light"], env=env).returncode != 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "nginx"], env=env, check=True)
    for c in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if c and os.path.exists(c):
            return c
    raise SystemExit("could not install nginx")


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def small_page() -> bytes:
    head = b"<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to the benchmark!</title>\n</head>\n<body>\n<h1>Welcome</h1>\n<p>"
    tail = b"</p>\n</body>\n</html>\n"
    fill = (b"lorem ipsum dolor sit amet " * 40)[: SMALL_SIZE - len(head) - len(tail)]
    page = head + fill + tail
    assert len(page) == SMALL_SIZE, len(page)
    return page


def small_json() -> bytes:
    return (
        b'{"id": 12345, "name": "benchmark", "active": true, "tags": ["a", "b", "c"], '
        b'"score": 3.14159, "nested": {"x": 1, "y": [1, 2, 3]}}\n'
    )


class Nginx:
    def __init__(self) -> None:
        self.exe = find_nginx()
        self.tmp = tempfile.mkdtemp(prefix="ghc-bench-nginx-")
        os.chmod(self.tmp, 0o755)
        self.www = os.path.join(self.tmp, "www")
        os.makedirs(self.www, mode=0o755)
        self.port = 0
        self.proc = None

    def _files(self) -> None:
        w = self.www
        open(os.path.join(w, "small.html"), "wb").write(small_page())
        open(os.path.join(w, "small.json"), "wb").write(small_json())
        line = b"The quick brown fox jumps over the lazy dog %d times.\n"
        open(os.path.join(w, "text.txt"), "wb").write(b"".join(line % i for i in range(2000)))
        block = os.urandom(1024 * 1024)
        with open(os.path.join(w, "big.bin"), "wb") as f:
            for _ in range(BIG_SIZE // len(block)):
                f.write(block)
        for n in os.listdir(w):
            os.chmod(os.path.join(w, n), 0o644)

    def start(self) -> Nginx:
        self._files()
        for attempt in range(5):
            self.port = free_port()
            conf = os.path.join(self.tmp, "nginx.conf")
            user = "user root root;" if os.geteuid() == 0 else ""
            open(conf, "w").write(
                CONF.format(tmp=self.tmp, www=self.www, port=self.port, user=user)
            )
            self.proc = subprocess.Popen(
                [self.exe, "-p", self.tmp, "-c", conf],
                stdout=subprocess.DEVNULL,
                stderr=open(os.path.join(self.tmp, "stderr.log"), "w"),
            )
            t_end = time.time() + 10
            while time.time() < t_end:
                if self.proc.poll() is not None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                    return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise SystemExit(
            "nginx did not start: " + open(os.path.join(self.tmp, "stderr.log")).read()
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()
