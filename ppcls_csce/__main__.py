"""`python -m ppcls_csce` runs the same CLI as `csce-config`."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
