"""A private nginx for the benchmarks: own config in a temp dir, ephemeral ports.

Plain HTTP on one port, HTTPS on a second (/small, /json, /big; TLS 1.2 and 1.3, a CA and
a leaf certificate for 127.0.0.1 made at start with the openssl command line, ECDSA
P-256; clients verify against ``cafile``). ``/small-close`` is /small with keep-alive
off: every request costs a new TCP connection (and, over HTTPS, a full handshake).
"""

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
    server {{
        listen 127.0.0.1:{tls_port} ssl backlog=4096;
        root {www};
        ssl_certificate {tls}/leaf.pem;
        ssl_certificate_key {tls}/leaf.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        # nginx's defaults otherwise: no session cache, session tickets on (TLS 1.3
        # clients get tickets; none of the measured clients resumes by default).
        location = /small {{ default_type text/html; alias {www}/small.html; }}
        location = /json {{ default_type application/json; alias {www}/small.json; }}
        location = /big {{ alias {www}/big.bin; }}
        location = /small-close {{
            default_type text/html;
            keepalive_timeout 0;
            alias {www}/small.html;
        }}
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


_LEAF_EXT = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def make_certificates(d: str) -> str:
    """A CA and a leaf for 127.0.0.1 signed by it (ECDSA P-256, valid 7 days) in ``d``,
    with the extensions strict verifiers ask for; returns the CA file's path."""
    os.makedirs(d, mode=0o755, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "7",
        "-subj", "/CN=geventhttpclient benchmark CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    openssl("req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "leaf.ext"), "w") as f:
        f.write(_LEAF_EXT)
    openssl(
        "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "7", "-extfile", "leaf.ext", "-out", "leaf.pem",
    )  # fmt: skip
    for n in os.listdir(d):
        os.chmod(os.path.join(d, n), 0o644)
    return os.path.join(d, "ca.pem")


class Nginx:
    def __init__(self) -> None:
        self.exe = find_nginx()
        self.tmp = tempfile.mkdtemp(prefix="ghc-bench-nginx-")
        os.chmod(self.tmp, 0o755)
        self.www = os.path.join(self.tmp, "www")
        os.makedirs(self.www, mode=0o755)
        self.port = 0
        self.tls_port = 0
        self.tls = os.path.join(self.tmp, "tls")
        self.cafile = ""  # the CA that signed the HTTPS server's certificate
        self.proc = None

    def _files(self) -> None:
        w = self.www
        line = b"The quick brown fox jumps over the lazy dog %d times.\n"
        pages = {
            "small.html": small_page(),
            "small.json": small_json(),
            "text.txt": b"".join(line % i for i in range(2000)),
        }
        for name, data in pages.items():
            # closed here: on PyPy an unclosed file is flushed only when collected
            with open(os.path.join(w, name), "wb") as f:
                f.write(data)
        block = os.urandom(1024 * 1024)
        with open(os.path.join(w, "big.bin"), "wb") as f:
            for _ in range(BIG_SIZE // len(block)):
                f.write(block)
        for n in os.listdir(w):
            os.chmod(os.path.join(w, n), 0o644)

    def start(self) -> Nginx:
        self._files()
        self.cafile = make_certificates(self.tls)
        for attempt in range(5):
            self.port = free_port()
            self.tls_port = free_port()
            while self.tls_port == self.port:
                self.tls_port = free_port()
            conf = os.path.join(self.tmp, "nginx.conf")
            user = "user root root;" if os.geteuid() == 0 else ""
            with open(conf, "w") as f:
                f.write(
                    CONF.format(
                        tmp=self.tmp,
                        www=self.www,
                        port=self.port,
                        tls_port=self.tls_port,
                        tls=self.tls,
                        user=user,
                    )
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
                    for port in (self.port, self.tls_port):
                        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise SystemExit(
            "nginx did not start: " + open(os.path.join(self.tmp, "stderr.log")).read()
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def https_url(self, path: str) -> str:
        """The same page over TLS (verify with ``cafile``)."""
        return f"https://127.0.0.1:{self.tls_port}{path}"

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
