"""Optional integrations with other libraries, each in its own module.

Nothing here is imported by ``geventhttpclient`` itself: a module of this package
needs its extra (``pip install "geventhttpclient[otel]"`` for
:mod:`geventhttpclient.contrib.opentelemetry`) and costs nothing until imported.
"""
