"""setuptools hook: the cffi build of the C parser (see build_parser.py)."""

from setuptools import setup

setup(cffi_modules=["build_parser.py:ffibuilder"])
