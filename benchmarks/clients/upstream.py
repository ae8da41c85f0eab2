"""Worker: upstream geventhttpclient 2.6.1 (2.4.0 on PyPy) through HTTPClient."""

import _ghc

if __name__ == "__main__":
    _ghc.main("upstream")
