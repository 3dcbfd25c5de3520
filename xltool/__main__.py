"""`python -m xltool`: the same command line as `xltool`."""

from xltool.cli import main

main()
