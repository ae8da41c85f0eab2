"""Worker: OUR geventhttpclient (3.x, pip-installed from the work tree)."""

import _ghc

if __name__ == "__main__":
    _ghc.main("ours")
