"""The optional compiled part of the list scanner (ppcls_csce/_plainscan.c), as PyYAML ships its libyaml binding.

Why a setup.py: pyproject.toml cannot make an extension depend on the environment. Everything else is in
pyproject.toml. The extension is `optional`: where no C compiler works, the install goes on and the scanner
reads every line with its exact pure-Python rule (`csce-config --version` says which one is in use).
PPCLS_CSCE_PURE=1 leaves it out altogether, for the pure-Python wheel (py3-none-any) that installs everywhere.
"""

import os

from setuptools import Extension, setup


def extensions() -> list:
    if os.environ.get("PPCLS_CSCE_PURE", "").strip() not in ("", "0"):
        return []
    return [Extension("ppcls_csce._plainscan", sources=["ppcls_csce/_plainscan.c"], optional=True)]


setup(ext_modules=extensions())
