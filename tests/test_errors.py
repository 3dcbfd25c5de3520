"""One error tree: every error the library raises for a user derives from XltoolError and carries
its exit status; the command line catches it once."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil

import xltool
from xltool.errors import InputError, ResourceError, Unfinished, UsageError, XltoolError
from xltool.office.container import ContainerError
from xltool.published.document import DocumentError
from xltool.round.roster import RosterError

INTERNAL = {"NarrativeError", "FormNotFound", "NotRegularFile", "_TooLarge"}  # caught inside the library, never shown as such


def exception_classes() -> dict[str, type]:
    found = {}
    for info in pkgutil.walk_packages(xltool.__path__, "xltool."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                found[name] = obj
    return found


def test_every_user_facing_error_is_an_xltool_error() -> None:
    classes = exception_classes()
    assert {"ContainerError", "FormError", "FillError", "RosterError", "SpecError", "ResourceError",
            "TemplateProblem", "PdfError", "SourceError", "DeliveryStopped", "ArchiveError"} <= set(classes)
    strays = {n for n, c in classes.items() if not issubclass(c, XltoolError)} - INTERNAL
    assert strays == set()


def test_exit_statuses_follow_the_tree() -> None:
    assert (UsageError("x").exit_status, ResourceError("x").exit_status) == (2, 2)
    assert (InputError("x").exit_status, Unfinished("x").exit_status) == (1, 1)
    assert RosterError(["第2行：缺少单位代码。"]).exit_status == 2
    assert ContainerError("file-unreadable", "坏了").exit_status == 1


def test_errors_cross_worker_processes_intact() -> None:
    for error in (ContainerError("file-too-large", "太大"), RosterError(["第2行", "第3行"]), UsageError("用错了"),
                  DocumentError("site-refused", "网站拒绝")):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and back.message == error.message
