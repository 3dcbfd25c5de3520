"""Narrative templates: the report's prose, with figures bound to the return's values.

A narrative is Jinja2 text, e.g. 本年共收到政府信息公开申请{{ requests.new.total }}件, so the
sentence always agrees with the table. A part the report must print as not filled in is written
with the `unfilled` filter, {{ "公开网址" | unfilled("公开网址未填报") }}: it prints the text and
records the part's name, so the composed report knows every gap it printed (report --strict)
without searching its own text. Templates come only from the coordinator's --narrative
file and the shipped defaults; a clerk's narrative cell is text, printed as typed, never a
template. Even so a template runs in Jinja2's sandbox, narrowed further:

* only expressions, `{% if %}` and a few harmless filters; no loops, calls, macros, imports or
  assignments (checked on the parsed template, before anything runs), so a template cannot
  hang or blow up memory; its rendered text is bounded too (MAX_OUTPUT);
* names reach only the report's namespace (figures, agency, year, contacts); attribute and
  item access on anything else is refused, as is any name starting with "_";
* an unknown name is an error naming the template line, never an empty string;
* every failure (syntax, nesting too deep for Python's compiler, arithmetic, output too long) is
  a TemplateProblem naming the template and line, never a traceback.

A narrative file is a set of blocks: {% block overview %}…{% endblock %}. The blocks are
`preamble`, one per narrative section of the spec (its id, e.g. `overview`), and `<id>_figures`
for figures a section states whatever its prose (section 六's processing fee). The defaults ship
in the form's narrative template (templates/<form>-<version>.narrative.j2), in the same shape, so a coordinator can copy and edit it.
"""

from __future__ import annotations

import difflib
import functools
import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, nodes, pass_context
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import concat

from xltool.errors import UsageError
from xltool.form.spec import Spec
from xltool.reports.grid import figure
from xltool.util import read_input

# What a narrative may contain: text, expressions and conditions, nothing that loops or calls.
ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Getattr,
    nodes.Getitem, nodes.If, nodes.CondExpr, nodes.Compare, nodes.Operand, nodes.And, nodes.Or,
    nodes.Not, nodes.Neg, nodes.Pos, nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv,
    nodes.Mod, nodes.Concat, nodes.Filter, nodes.Test,
)
MAX_DECIMALS = 6
MAX_OUTPUT = 200_000  # characters one rendering may produce: far more than a year's report prose
NOT_FILLED = "未填报"
_GAPS = "_gaps"  # the context variable that collects unfilled parts (no template can name it)


class NarrativeError(Exception):
    """A template asked for something the report cannot print; the message is Chinese."""


def _printable(value: Any) -> str:
    """What {{ … }} prints: a figure as the tables print it; a group of figures is an error."""
    if isinstance(value, Namespace):
        raise NarrativeError(f"{value.full('')[:-1]} 是一组项目，请写到具体的一项，"
                             f"如 {value.full(value.names()[0])}")
    return figure(value)


class TemplateProblem(UsageError):
    """A narrative template that cannot be used (exit status 2): where, which line, what."""

    def __init__(self, where: str, line: int | None, what: str):
        self.where, self.line, self.what = where, line, what
        at = f"第{line}行" if line else ""
        super().__init__(f"{where}{at}：{what}")


class Namespace:
    """Dotted canonical keys as nested names: requests → new → total. Only the names given
    exist; it has no methods a template could reach."""

    __slots__ = ("_items", "_path")

    def __init__(self, path: str, items: Mapping[str, Any]):
        self._path = path
        self._items = dict(items)

    def lookup(self, name: Any) -> Any:
        return self._items[name]

    def names(self) -> list[str]:
        return list(self._items)

    def full(self, name: Any) -> str:
        return f"{self._path}.{name}" if self._path else str(name)

    def __bool__(self) -> bool:
        return bool(self._items)


def nest(flat: Mapping[str, Any], path: str = "") -> Namespace:
    """A Namespace tree from {"a.b.c": v}: every dotted key becomes a path of names."""
    groups: dict[str, dict[str, Any]] = {}
    leaves: dict[str, Any] = {}
    for key, value in flat.items():
        head, _, rest = key.partition(".")
        if rest:
            groups.setdefault(head, {})[rest] = value
        else:
            leaves[head] = value
    clash = set(groups) & set(leaves)
    if clash:
        raise ValueError(f"keys are both a value and a prefix: {sorted(clash)}")
    items = dict(leaves)
    items.update({head: nest(sub, f"{path}.{head}" if path else head) for head, sub in groups.items()})
    return Namespace(path, items)


def dotted_names(ns: Namespace) -> Iterator[str]:
    """Every name a template can write, for suggestions in error messages."""
    for name in ns.names():
        value = ns.lookup(name)
        yield ns.full(name)
        if isinstance(value, Namespace):
            yield from dotted_names(value)


class ReportUndefined(StrictUndefined):
    """StrictUndefined whose message names the full dotted name in Chinese."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        obj = self._undefined_obj
        name = obj.full(self._undefined_name) if isinstance(obj, Namespace) else self._undefined_name
        return f"未知的名称 {name}"


def _fixed(value: Any, places: int = 2) -> str:
    """A figure with a fixed number of decimals (e.g. 万元 to two places)."""
    if value is None:
        return figure(None)
    places = max(0, min(int(places), MAX_DECIMALS))
    try:
        return format(Decimal(str(value)).quantize(Decimal(1).scaleb(-places)), "f")
    except InvalidOperation:
        raise SecurityError("fixed 只能用于数字") from None


@pass_context
def _unfilled(context: Context, part: Any, shown: Any = NOT_FILLED) -> str:
    """{{ "邮编" | unfilled }}: print 未填报 (or the text given) and record the part as not filled in."""
    if not isinstance(part, str) or not isinstance(shown, str):
        raise SecurityError("unfilled 的用法：{{ \"部分名称\" | unfilled(\"印出的文字\") }}")
    gaps = context.get(_GAPS)
    if isinstance(gaps, list) and part not in gaps:
        gaps.append(part)
    return shown


class NarrativeEnvironment(SandboxedEnvironment):
    """The sandbox, narrowed to the report's namespace, with blank-safe arithmetic."""

    intercepted_binops = frozenset(["+", "-", "*", "/", "//", "%"])
    _arithmetic: ClassVar[dict[str, Callable[[Any, Any], Any]]] = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
                   "//": operator.floordiv, "%": operator.mod}

    def __init__(self) -> None:
        super().__init__(undefined=ReportUndefined, autoescape=False, trim_blocks=True,
                         lstrip_blocks=True, keep_trailing_newline=False, finalize=_printable)
        self.globals.clear()
        self.filters = {"abs": abs, "round": round, "int": int, "default": self.filters["default"],
                        "fixed": _fixed, "unfilled": _unfilled}
        self.tests = {name: self.tests[name] for name in ("defined", "undefined", "none", "number")}

    def getattr(self, obj: Any, attribute: str) -> Any:
        return self.getitem(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Undefined):  # requests.neww.total: name the unknown part, not "total"
            obj._fail_with_undefined_error()
        if not isinstance(obj, Namespace):
            raise SecurityError(f"只能引用报表中的数字、单位和联系方式，不能访问 {argument!s}")
        try:
            return obj.lookup(argument)
        except (KeyError, TypeError):
            return self.undefined(obj=obj, name=argument)

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        """Arithmetic on figures only: a blank gives a blank, text is refused (no 'x' * 10**9)."""
        if left is None or right is None:
            return None
        for side in (left, right):
            if isinstance(side, bool) or not isinstance(side, (int, Decimal, float)):
                raise SecurityError(f"运算符 {operator_} 只能用于数字")
        return self._arithmetic[operator_](left, right)


ENV = NarrativeEnvironment()


@dataclass
class Compiled:
    where: str
    filename: str
    template: Any  # jinja2.Template
    source: str = ""
    blocks: bool = False

    def __reduce__(self):  # to a worker process as its source, compiled there once
        return _recompiled, (self.source, self.where, self.blocks)


def _reject(node: nodes.Node, where: str, blocks: bool) -> None:
    """Refuse anything outside the narrow language, naming the line."""
    for child in node.iter_child_nodes():
        if isinstance(child, nodes.Block) and blocks and isinstance(node, nodes.Template):
            _reject(child, where, blocks=False)
            continue
        if not isinstance(child, ALLOWED_NODES):
            what = "{% block %} 只能写在叙述文件的最外层" if isinstance(child, nodes.Block) else \
                f"正文模板只能使用 {{{{ 名称 }}}} 和 {{% if %}}，不能使用 {type(child).__name__}"
            raise TemplateProblem(where, child.lineno, what)
        name = getattr(child, "attr", None) or getattr(child, "name", None)
        if isinstance(name, str) and name.startswith("_"):
            raise TemplateProblem(where, child.lineno, f"不允许访问 {name}（正文模板在沙箱中运行）")
        for kind, known, word in ((nodes.Filter, ENV.filters, "过滤器"), (nodes.Test, ENV.tests, "判断")):
            if isinstance(child, kind) and child.name not in known:
                raise TemplateProblem(where, child.lineno, f"没有名为 {child.name} 的{word}（可用：{'、'.join(known)}）")
        _reject(child, where, blocks)


_TOO_DEEP = "模板嵌套过深或表达式过长（如一个表达式中有几百项），请拆短"


def compile_text(source: str, where: str, *, blocks: bool = False) -> Compiled:
    """Parse and check a template; its syntax errors and forbidden parts name the line."""
    filename = f"<narrative:{where}>"
    try:
        tree = ENV.parse(source, name=where, filename=filename)
        _reject(tree, where, blocks)
    except TemplateSyntaxError as e:
        raise TemplateProblem(where, e.lineno, f"模板语法错误（{e.message}）") from None
    except (RecursionError, SyntaxError, MemoryError):
        raise TemplateProblem(where, None, _TOO_DEEP) from None
    if blocks:
        stray = [n for n in tree.body if not isinstance(n, nodes.Block)
                 and not (isinstance(n, nodes.Output) and all(isinstance(x, nodes.TemplateData) and not x.data.strip()
                                                              for x in n.nodes))]
        if stray:
            raise TemplateProblem(where, stray[0].lineno, "叙述文件的文字应写在 {% block 名称 %}…{% endblock %} 之内")
    try:
        code = ENV.compile(tree, name=where, filename=filename)
    except TemplateSyntaxError as e:
        raise TemplateProblem(where, e.lineno, f"模板错误（{e.message}）") from None
    except (RecursionError, SyntaxError, MemoryError):  # Python's own compiler: 300 terms in one expression
        raise TemplateProblem(where, None, _TOO_DEEP) from None
    return Compiled(where, filename, ENV.template_class.from_code(ENV, code, ENV.make_globals(None)), source, blocks)


@functools.lru_cache(maxsize=8)
def _recompiled(source: str, where: str, blocks: bool) -> Compiled:
    return compile_text(source, where, blocks=blocks)


def _template_line(compiled: Compiled, tb: TracebackType | None) -> int | None:
    """The template line of the innermost frame of this template in a traceback."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == compiled.filename:
            line = compiled.template.get_corresponding_lineno(tb.tb_lineno)
        tb = tb.tb_next
    return line


def _explain(error: Exception, names: list[str]) -> str:
    if isinstance(error, UndefinedError):
        message = str(error)
        wanted = message.removeprefix("未知的名称 ")
        close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.6)
        hint = f"。是否想写：{'、'.join(close)}？" if close else "。可用的名称如 requests.new.total、agency.name、year、contact.phone"
        return message + hint
    if isinstance(error, SecurityError):
        return f"不允许的操作（正文模板在沙箱中运行）：{error}"
    if isinstance(error, NarrativeError):
        return str(error)
    return f"无法计算（{type(error).__name__}: {error}）"


def render(compiled: Compiled, namespace: Namespace, block: str | None = None, gaps: list[str] | None = None) -> str:
    """Render a whole template or one of its blocks; any failure names the template line. The
    parts it printed with `unfilled` are appended to `gaps`."""
    template = compiled.template
    names = {name: namespace.lookup(name) for name in namespace.names()}
    context = template.new_context({**names, _GAPS: gaps if gaps is not None else []})
    try:
        text = concat(template.blocks[block](context) if block else template.root_render_func(context))
    except Exception as e:
        raise TemplateProblem(compiled.where, _template_line(compiled, e.__traceback__),
                              _explain(e, list(dotted_names(namespace)))) from None
    if len(text) > MAX_OUTPUT:
        raise TemplateProblem(compiled.where, None, f"生成的文字过长（超过 {MAX_OUTPUT} 个字符），请精简模板")
    return text


MAX_NARRATIVE_BYTES = 1024 * 1024  # a narrative template is a few pages of text


def load_file(path: str | Path) -> Compiled:
    """A coordinator's narrative file of blocks (--narrative FILE)."""
    path = Path(path)
    where = f"叙述文件 {path.name} "
    try:
        source = read_input(path, MAX_NARRATIVE_BYTES, "叙述文件").decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"叙述文件 {path} 不是 UTF-8 文本：请用记事本另存为 UTF-8。") from None
    return compile_text(source, where, blocks=True)


@functools.lru_cache(maxsize=8)
def load_default(spec: Spec) -> Compiled:
    """The default narrative of a form version: the file its spec names, beside the spec."""
    return compile_text(spec.read_file(spec.narrative_template), f"默认叙述模板 {spec.narrative_template} ", blocks=True)


def block_names(compiled: Compiled) -> set[str]:
    return set(compiled.template.blocks)
