"""Tools behind the ``geventhttpclient`` command line (not the client library)."""
