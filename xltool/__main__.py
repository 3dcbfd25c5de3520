"""`python -m xltool`: the same command line as `xltool`."""

from .cli import main

main()
