"""One tree for every error a user sees: a Chinese message and the exit status the command line
ends with (PRODUCT.md, "Exit status"). The CLI catches `XltoolError` once; the library raises the
subclass that says what went wrong.

    XltoolError                      2 unless a subclass says otherwise
    ├── UsageError                   2  used wrongly: options, paths, a bad roster, a bad template
    ├── ResourceError                2  a file shipped with xltool is missing or damaged
    ├── InputError                   1  an input file (a return, a zip, the data to fill) cannot be used
    └── Unfinished                   1  a server went away part-way; what was done is kept, a re-run resumes
"""

from __future__ import annotations


class XltoolError(Exception):
    """An expected failure; its message, in Chinese, is for the user."""

    exit_status = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(XltoolError):
    """The command was used wrongly: an option, a path, a roster, a template (exit status 2)."""


class ResourceError(XltoolError):
    """A file shipped with xltool is missing or damaged: the installation is broken (exit status 2)."""


class InputError(XltoolError):
    """An input file cannot be used: unreadable, not our form, values no clerk can type (exit status 1)."""

    exit_status = 1


class Unfinished(XltoolError):
    """The work stopped part-way (a mail server went away, a message was refused); what was done
    is kept and a re-run resumes (exit status 1)."""

    exit_status = 1
