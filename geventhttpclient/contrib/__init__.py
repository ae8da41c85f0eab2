"""Optional integrations with other libraries, each in its own module.

Nothing here is imported by ``geventhttpclient`` itself: a module of this package
needs its extra and costs nothing until imported.

* :mod:`geventhttpclient.contrib.opentelemetry` (``pip install "geventhttpclient[otel]"``):
  a CLIENT span and the request-duration histogram per request.
* :mod:`geventhttpclient.contrib.httpx` (``[httpx]``): ``GeventTransport``, so that
  ``httpx.Client`` and the SDKs built on it send through our pools.
* :mod:`geventhttpclient.contrib.httpx2`: the same for httpx2, the fork of httpx that
  openai 3 takes.
* :mod:`geventhttpclient.contrib.requests` (``[requests]``): ``GeventAdapter``, for
  code that has to keep the real requests.
"""
