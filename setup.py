"""setuptools hook: the cffi build of the C parser (see build_parser.py).

Everything else lives in pyproject.toml. On CPython the extension uses only the
stable ABI (``py_limited_api=True`` in build_parser.py), so the wheel is tagged
``cp39-abi3`` and one wheel serves CPython 3.9 and later. PyPy has no stable ABI:
its wheels keep the interpreter-specific tag.
"""

import platform

from setuptools import setup

options = {}
if platform.python_implementation() == "CPython":
    options["bdist_wheel"] = {"py_limited_api": "cp39"}

setup(cffi_modules=["build_parser.py:ffibuilder"], options=options)
