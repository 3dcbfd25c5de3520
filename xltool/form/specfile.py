"""Reading a form spec file and proving it sound before anything is built from it.

A spec is written by people: a key misspelt in a rule, a severity typed `eror`, a check naming a
cell that does not exist would otherwise switch a rule off without a word. Every mistake found
is reported with the file, the line and how to fix it, in the order of the file, the way pyxform
reports a bad form. The YAML is read with each mapping's and list's line kept (`Located`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Generator, Iterable, Iterator
from typing import Any

import yaml

from xltool.errors import UsageError
from xltool.findings import CATALOGUE

SEVERITIES = ("error", "warning")
NUMBER_KINDS = ("count", "amount")
FIELD_KINDS = ("count", "amount", "text", "narrative")
SHEET_ROLES = ("instructions", "identity", "narrative", "checks", "meta")
TOP_LEVEL = {
    "form": True, "version": True, "title": True, "basis": True, "years": True, "sheets": True,
    "sections": True, "tables": True, "fields": True, "rules": False, "sum_rules": False, "checks": False,
    "superseded_formats": False, "instructions": True, "workbook": True, "narrative_template": True,
    "previous_keys": False, "published": False,
}
WORKBOOK_TEXTS = ("narrative_title", "fee_heading", "signatures")
CHECKS = {  # check name -> (its settings that name keys, its settings that are numbers)
    "fee_unit": (("key",), ("max_plausible", "max_decimals")),
    "processing_fee": (("cases", "notices"), ()),
    "narrative_required": ((), ()),
    "contact_required": ((), ()),
    "narrative_figures": ((), ()),
}
_KEY_PART = re.compile(r"^[a-z][a-z0-9_]*$")
_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")
_TERM = re.compile(r"^(?P<sign>-)?(?:(?P<prev>previous)\((?P<pkey>[\w.{}]+)\)|(?P<key>[\w.{}]+))$")
MAX_SHOWN = 20


class SpecError(UsageError):
    """A spec file that cannot be used; the message says where and how to fix it (exit status 2)."""


class Located(dict):
    """A YAML mapping that remembers its line and the line of each key."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LocatedList(list):
    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Iterator[Located]:
    out = Located()
    out.line, out.key_lines = node.start_mark.line + 1, {}
    yield out
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> Iterator[LocatedList]:
    out = LocatedList()
    out.line, out.item_lines = node.start_mark.line + 1, [n.start_mark.line + 1 for n in node.value]
    yield out
    out.extend(loader.construct_object(n, deep=True) for n in node.value)


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _sequence)


def parse_term(text: str) -> tuple[str, int, bool] | None:
    """A rule term: (key template, sign, whether it is last year's figure), or None."""
    m = _TERM.match(str(text).replace(" ", ""))
    if not m:
        return None
    return m["pkey"] or m["key"], -1 if m["sign"] else 1, bool(m["prev"])


def read(text: str, source: str) -> Located:
    """The spec's YAML, checked; SpecError listing every mistake found."""
    try:
        raw = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f"第{mark.line + 1}行" if mark else ""
        raise SpecError(f"{source} {at}：不是有效的 YAML（{getattr(e, 'problem', None) or e}）。"
                        "请检查缩进、冒号和引号。") from None
    if not isinstance(raw, Located):
        raise SpecError(f"{source}：表单定义应是一个 YAML 映射（form: …、version: … 等）。")
    problems = list(_Checker(raw).problems())
    if problems:
        shown = [f"{source} 第{line}行：{what}" for line, what in sorted(problems, key=lambda p: p[0])[:MAX_SHOWN]]
        more = f"\n……另有 {len(problems) - MAX_SHOWN} 处" if len(problems) > MAX_SHOWN else ""
        raise SpecError(f"表单定义有 {len(problems)} 处错误：\n" + "\n".join(shown) + more)
    return raw


def _suggest(word: Any, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=3, cutoff=0.6)
    return f"是否想写：{'、'.join(close)}？" if close else ""


class _Checker:
    """Walks the raw spec once; yields (line, what is wrong and how to fix it)."""

    def __init__(self, raw: Located):
        self.raw = raw
        self.keys: dict[str, int] = {}  # every canonical key -> the line that defines it
        self.table_nodes: dict[str, dict[str, list[str]]] = {}  # table id -> {"columns"/"rows": leaf keys}

    def problems(self) -> Iterator[tuple[int, str]]:
        raw = self.raw
        for name in raw:
            if name not in TOP_LEVEL:
                yield raw.line_of(name), f"不认识的项目“{name}”。{_suggest(name, TOP_LEVEL)}"
        missing = [name for name, required in TOP_LEVEL.items() if required and name not in raw]
        for name in missing:
            yield raw.line, f"缺少必需的项目“{name}”。"
        if missing:
            return
        yield from self._header()
        yield from self._sheets()
        yield from self._tables()
        yield from self._fields()
        yield from self._sections()
        yield from self._sum_rules()
        yield from self._rules()
        yield from self._checks()
        yield from self._workbook()
        yield from self._previous_keys()
        yield from self._published()

    # -- the parts -----------------------------------------------------------------------------
    def _header(self) -> Iterator[tuple[int, str]]:
        raw = self.raw
        for name in ("form", "title", "basis", "narrative_template"):
            if not isinstance(raw[name], str) or not raw[name].strip():
                yield raw.line_of(name), f"“{name}”应是一段文字。"
        if not re.fullmatch(r"\d{4}", str(raw["version"])):
            yield raw.line_of("version"), f"版本“{raw['version']}”应是四位年份，如 \"2021\"。"
        years = raw["years"]
        if not (isinstance(years, list) and len(years) == 2 and all(type(y) is int for y in years)
                and years[0] <= years[1]):
            yield raw.line_of("years"), "“years”应是适用的第一个和最后一个统计年度，如 [2021, 2040]。"
        if not isinstance(raw["instructions"], list) or not all(isinstance(x, str) for x in raw["instructions"]):
            yield raw.line_of("instructions"), "“instructions”应是说明表的各段文字，每段一行。"

    def _sheets(self) -> Iterator[tuple[int, str]]:
        sheets = self.raw["sheets"]
        if not isinstance(sheets, Located):
            yield self.raw.line_of("sheets"), "“sheets”应是工作表角色与名称的映射，如 identity: 基本信息。"
            return
        for role in sheets:
            if role not in SHEET_ROLES:
                yield sheets.line_of(role), f"不认识的工作表角色“{role}”。{_suggest(role, SHEET_ROLES)}"
        for role in SHEET_ROLES:
            if role not in sheets:
                yield sheets.line, f"缺少工作表角色“{role}”（{'、'.join(SHEET_ROLES)} 都要有）。"
        names = [*sheets.values(), *(t.get("sheet") for t in self._list("tables") if isinstance(t, dict))]
        for role, name in sheets.items():
            yield from self._sheet_name(sheets.line_of(role), name)
        for name in {n for n in names if names.count(n) > 1}:
            yield sheets.line, f"工作表名称“{name}”用了不止一次。"

    def _sheet_name(self, line: int, name: Any) -> Iterator[tuple[int, str]]:
        if not isinstance(name, str) or not name or len(name) > 31 or _BAD_SHEET.search(name):
            yield line, f"工作表名称“{name}”无效：应为 1 到 31 个字符，且不含 [ ] : * ? / \\。"

    def _tables(self) -> Iterator[tuple[int, str]]:
        ids: set[str] = set()
        for i, table in enumerate(self._list("tables")):
            line = self._list("tables").line_of(i)
            if not isinstance(table, Located):
                yield line, "每张表应是一个映射（id、sheet、prefix、columns、rows 等）。"
                continue
            for name in ("id", "sheet", "prefix"):
                if not isinstance(table.get(name), str) or not table.get(name):
                    yield table.line, f"表缺少“{name}”。"
            tid = str(table.get("id", ""))
            if tid in ids:
                yield table.line_of("id"), f"表的 id“{tid}”重复。"
            ids.add(tid)
            yield from self._sheet_name(table.line_of("sheet"), table.get("sheet"))
            kind = table.get("type", "count")
            if kind not in NUMBER_KINDS:
                yield table.line_of("type"), f"表的类型“{kind}”无效，只能是 {' 或 '.join(NUMBER_KINDS)}。"
            prefix = str(table.get("prefix", ""))
            if "blocks" in table:
                for b, block in enumerate(table["blocks"] if isinstance(table["blocks"], list) else ()):
                    if not isinstance(block, Located) or not {"header", "columns", "rows"} <= set(block):
                        yield table["blocks"].line_of(b), "每个块应有 header、columns 和 rows。"
                        continue
                    yield from self._nodes(block["columns"])
                    yield from self._nodes(block["rows"])
                    for r in self._leaves(block["rows"]):
                        for c in self._leaves(block["columns"]):
                            yield from self._define(".".join(x for x in (prefix, r[0], c[0]) if x), c[1])
            elif "columns" in table and "rows" in table:
                yield from self._nodes(table["columns"])
                yield from self._nodes(table["rows"])
                for r in self._leaves(table["rows"]):
                    for c in self._leaves(table["columns"]):
                        yield from self._define(".".join(x for x in (prefix, r[0], c[0]) if x), c[1])
                self.table_nodes[tid] = {"columns": [k for k, _ in self._leaves(table["columns"])],
                                         "rows": [k for k, _ in self._leaves(table["rows"])]}
            else:
                yield table.line, "表应有 columns 和 rows，或 blocks。"

    def _nodes(self, nodes: Any) -> Iterator[tuple[int, str]]:
        """Problems of a tree of headers: labels, keys, types, totals."""
        if not isinstance(nodes, LocatedList):
            yield getattr(nodes, "line", self.raw.line), "表头应是一个列表。"
            return
        for i, node in enumerate(nodes):
            if not isinstance(node, Located):
                yield nodes.line_of(i), "表头的每一项应是一个映射（label、key 等）。"
                continue
            key = node.get("key", "")
            if key and not _KEY_PART.match(str(key)):
                yield node.line_of("key"), f"键“{key}”无效：只能用小写英文字母、数字和下划线，以字母开头。"
            if "type" in node and node["type"] not in NUMBER_KINDS:
                yield node.line_of("type"), f"类型“{node['type']}”无效，只能是 {' 或 '.join(NUMBER_KINDS)}。"
            total = node.get("total")
            if total is not None and total not in (self.raw.get("sum_rules") or {}):
                yield node.line_of("total"), (f"合计规则“{total}”没有在 sum_rules 中定义。"
                                              f"{_suggest(total, self.raw.get('sum_rules') or ())}")
            for name in node:
                if name not in ("label", "key", "children", "total", "type", "unit", "decimals"):
                    yield node.line_of(name), f"表头项不认识“{name}”。{_suggest(name, ('label', 'key', 'children', 'total', 'type', 'unit', 'decimals'))}"
            if "children" in node:
                yield from self._nodes(node["children"])

    def _leaves(self, nodes: Any, trail: tuple[str, ...] = ()) -> Iterator[tuple[str, int]]:
        """(joined key, line) of every leaf of a tree of headers."""
        for node in nodes if isinstance(nodes, list) else ():
            if not isinstance(node, dict):
                continue
            path = (*trail, str(node.get("key", ""))) if node.get("key") else trail
            if isinstance(node.get("children"), list):
                yield from self._leaves(node["children"], path)
            else:
                yield ".".join(path), node.line if isinstance(node, Located) else 0

    def _define(self, key: str, line: int) -> Iterator[tuple[int, str]]:
        if key in self.keys:
            yield line, f"键“{key}”重复（第{self.keys[key]}行已有）。"
        else:
            self.keys[key] = line

    def _fields(self) -> Iterator[tuple[int, str]]:
        fields = self._list("fields")
        for i, f in enumerate(fields):
            if not isinstance(f, Located) or not {"key", "label", "sheet", "type"} <= set(f):
                yield fields.line_of(i), "每个字段应有 key、label、sheet 和 type。"
                continue
            if not re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+", str(f["key"])):
                yield f.line_of("key"), f"键“{f['key']}”无效：应为用点分隔的小写英文名称，如 contact.phone。"
            if f["sheet"] not in SHEET_ROLES:
                yield f.line_of("sheet"), f"字段所在的工作表角色“{f['sheet']}”无效。{_suggest(f['sheet'], SHEET_ROLES)}"
            if f["type"] not in FIELD_KINDS:
                yield f.line_of("type"), f"类型“{f['type']}”无效，只能是 {'、'.join(FIELD_KINDS)}。{_suggest(f['type'], FIELD_KINDS)}"
            yield from self._define(str(f["key"]), f.line)

    def _sections(self) -> Iterator[tuple[int, str]]:
        sections = self._list("sections")
        table_ids = {str(t.get("id")) for t in self._list("tables") if isinstance(t, dict)}
        for i, s in enumerate(sections):
            if not isinstance(s, Located) or not {"id", "heading"} <= set(s):
                yield sections.line_of(i), "每个部分应有 id 和 heading。"
                continue
            if ("table" in s) == ("narrative" in s):
                yield s.line, f"部分“{s['heading']}”应有 table（表的 id）或 narrative（正文字段的键），二者选一。"
            elif "table" in s and s["table"] not in table_ids:
                yield s.line_of("table"), f"部分“{s['heading']}”引用的表“{s['table']}”不存在。{_suggest(s['table'], table_ids)}"
            elif "narrative" in s:
                yield from self._key(s.line_of("narrative"), s["narrative"], f"部分“{s['heading']}”")
        used = {s.get("table") for s in sections if isinstance(s, dict)}
        for t in self._list("tables"):
            if isinstance(t, Located) and t.get("id") not in used:
                yield t.line, f"表“{t.get('id')}”没有放进任何部分（sections）。"

    def _sum_rules(self) -> Iterator[tuple[int, str]]:
        sum_rules = self.raw.get("sum_rules") or Located()
        for code, meta in sum_rules.items():
            if code not in CATALOGUE:
                yield sum_rules.line_of(code), (f"规则代码“{code}”不在发现代码目录（xltool/findings.py）中。"
                                                f"{_suggest(code, CATALOGUE)}")
            if not isinstance(meta, dict) or not {"name", "says"} <= set(meta):
                yield sum_rules.line_of(code), f"合计规则“{code}”应有 name 和 says。"

    def _rules(self) -> Iterator[tuple[int, str]]:
        rules = self._list("rules")
        for i, rule in enumerate(rules):
            if not isinstance(rule, Located):
                yield rules.line_of(i), "每条规则应是一个映射。"
                continue
            missing = [n for n in ("code", "severity", "name", "says", "each", "left", "right", "at") if n not in rule]
            if missing:
                yield rule.line, f"规则缺少 {'、'.join(missing)}。"
                continue
            if rule["code"] not in CATALOGUE:
                yield rule.line_of("code"), (f"规则代码“{rule['code']}”不在发现代码目录（xltool/findings.py）中。"
                                             f"{_suggest(rule['code'], CATALOGUE)}")
            if rule["severity"] not in SEVERITIES:
                yield rule.line_of("severity"), (f"严重程度“{rule['severity']}”无效，只能是 error 或 warning。"
                                                 f"{_suggest(rule['severity'], SEVERITIES)}")
            values = yield from self._each(rule)
            for side in ("left", "right"):
                terms = rule[side] if isinstance(rule[side], list) else []
                if not terms:
                    yield rule.line_of(side), f"规则 {rule['code']} 的 {side} 应是一个或多个键。"
                for t, text in enumerate(terms):
                    parsed = parse_term(text)
                    line = rule[side].line_of(t) if isinstance(rule[side], LocatedList) else rule.line_of(side)
                    if parsed is None:
                        yield line, f"规则 {rule['code']} 的项“{text}”无效：应为键、-键或 previous(键)。"
                        continue
                    yield from self._templated(line, parsed[0], values, f"规则 {rule['code']}")
            yield from self._templated(rule.line_of("at"), str(rule["at"]), values, f"规则 {rule['code']} 的 at")

    def _each(self, rule: Located) -> Generator[tuple[int, str], None, dict[str, list[str]]]:
        """Problems of a rule's `each`; returns the names it runs over."""
        each = rule["each"]
        if not (isinstance(each, dict) and len(each) == 1):
            yield rule.line_of("each"), "“each”应写成 {变量: 表id.columns} 或 {变量: [名称, …]}。"
            return {}
        (var, source), = each.items()
        if isinstance(source, list):
            return {var: [str(v) for v in source]}
        table_id, _, what = str(source).partition(".")
        names = self.table_nodes.get(table_id, {}).get(what)
        if names is None:
            yield rule.line_of("each"), (f"“{source}”无效：应为某张表的 columns 或 rows，如 requests.columns。"
                                         f"{_suggest(source, [f'{t}.{w}' for t in self.table_nodes for w in ('columns', 'rows')])}")
            return {}
        return {var: names}

    def _templated(self, line: int, template: str, values: dict[str, list[str]], what: str) -> Iterator[tuple[int, str]]:
        if not values:
            yield from self._key(line, template, what)
            return
        (var, names), = values.items()
        if "{" + var + "}" not in template:
            yield from self._key(line, template, what)
            return
        for name in names:
            try:
                key = template.format(**{var: name})
            except (KeyError, IndexError, ValueError):
                yield line, f"{what}的“{template}”中有未定义的变量，只能用 {{{var}}}。"
                return
            problems = list(self._key(line, key, what))
            if problems:
                yield problems[0]
                return

    def _key(self, line: int, key: Any, what: str) -> Iterator[tuple[int, str]]:
        if str(key) not in self.keys:
            yield line, f"{what}引用了不存在的键“{key}”。{_suggest(key, self.keys)}"

    def _checks(self) -> Iterator[tuple[int, str]]:
        checks = self.raw.get("checks") or Located()
        for name, conf in checks.items():
            line = checks.line_of(name)
            if name not in CHECKS:
                yield line, f"不认识的检查“{name}”。{_suggest(name, CHECKS)}"
                continue
            key_settings, number_settings = CHECKS[name]
            if key_settings or number_settings:
                if not isinstance(conf, Located):
                    yield line, f"检查“{name}”应写成映射：{'、'.join(key_settings + number_settings)}。"
                    continue
                for setting in key_settings:
                    if setting not in conf:
                        yield conf.line, f"检查“{name}”缺少 {setting}。"
                    else:
                        yield from self._key(conf.line_of(setting), conf[setting], f"检查“{name}”的 {setting} ")
                for setting in number_settings:
                    if type(conf.get(setting)) not in (int, float):
                        yield conf.line_of(setting), f"检查“{name}”的 {setting} 应是一个数。"
            elif name == "narrative_figures":
                yield from self._figures(conf, line)
            else:
                for i, key in enumerate(conf if isinstance(conf, list) else [conf]):
                    at = conf.line_of(i) if isinstance(conf, LocatedList) else line
                    yield from self._key(at, key, f"检查“{name}”")

    def _figures(self, conf: Any, line: int) -> Iterator[tuple[int, str]]:
        for i, item in enumerate(conf if isinstance(conf, list) else []):
            at = conf.line_of(i)
            if not isinstance(item, dict) or not {"pattern", "key"} <= set(item):
                yield at, "每个正文数字应有 pattern 和 key。"
                continue
            pattern = str(item["pattern"])
            if "N" not in pattern:
                yield at, f"正文数字的 pattern“{pattern}”中没有 N（数字所在的位置）。"
            try:
                re.compile(pattern.replace("N", "0"))
            except re.error as e:
                yield at, f"正文数字的 pattern“{pattern}”不是有效的正则表达式（{e}）。"
            for key in item["key"] if isinstance(item["key"], list) else [item["key"]]:
                yield from self._key(at, key, "正文数字")

    def _workbook(self) -> Iterator[tuple[int, str]]:
        wb = self.raw["workbook"]
        if not isinstance(wb, Located):
            yield self.raw.line_of("workbook"), f"“workbook”应是一个映射：{'、'.join(WORKBOOK_TEXTS)}。"
            return
        for name in WORKBOOK_TEXTS:
            if name not in wb:
                yield wb.line, f"“workbook”缺少 {name}。"
        if "signatures" in wb and not (isinstance(wb["signatures"], list) and len(wb["signatures"]) == 4):
            yield wb.line_of("signatures"), "“signatures”应是签字盖章栏的四段文字（填报人、审核人、单位负责人、单位盖章）。"

    def _previous_keys(self) -> Iterator[tuple[int, str]]:
        mapping = self.raw.get("previous_keys") or Located()
        for new, old in mapping.items():
            yield from self._key(mapping.line_of(new), new, "previous_keys ")
            if not isinstance(old, str) or not old:
                yield mapping.line_of(new), f"previous_keys 中“{new}”应对应上一版表单的一个键。"

    def _published(self) -> Iterator[tuple[int, str]]:
        """How published reports print the form: the keys it names exist, its patterns compile."""
        for f in self._list("superseded_formats"):
            if not isinstance(f, Located):
                continue
            for key in f.get("reads") or {}:
                yield from self._key(f.line_of("reads"), key, "superseded_formats 的 reads ")
            for prefix in f.get("absent") or ():
                if not any(k == prefix or k.startswith(f"{prefix}.") for k in self.keys):
                    yield f.line_of("absent"), f"superseded_formats 的 absent 中“{prefix}”不是任何键的前缀。"
        pub = self.raw.get("published")
        if pub is None:
            return
        if not isinstance(pub, Located):
            yield self.raw.line_of("published"), "“published”应是一个映射。"
            return
        patterns = [(pub.line_of("title"), pub.get("title"))] if "title" in pub else []
        for item in pub.get("figures") or ():
            if isinstance(item, dict):
                patterns.append((pub.line_of("figures"), str(item.get("pattern", "")).replace("N", "0")))
                yield from self._key(pub.line_of("figures"), item.get("key"), "published 的 figures ")
        section = pub.get("figures_section")
        if pub.get("figures") and not any(isinstance(s, dict) and s.get("id") == section and s.get("narrative")
                                          for s in self._list("sections")):
            yield (pub.line_of("figures_section" if "figures_section" in pub else "figures"),
                   "published 的 figures_section 应是一个有正文（narrative）的部分的 id，figures 中的数字从该部分的正文中读取。")
        for key, pattern in (pub.get("contact") or {}).items():
            patterns.append((pub.line_of("contact"), pattern))
            yield from self._key(pub.line_of("contact"), key, "published 的 contact ")
        for item in pub.get("deadlines") or ():
            if isinstance(item, dict):
                patterns.append((pub.line_of("deadlines"), item.get("who", "")))
        for line, pattern in patterns:
            try:
                re.compile(str(pattern))
            except re.error as e:
                yield line, f"published 中的“{pattern}”不是有效的正则表达式（{e}）。"

    def _list(self, name: str) -> LocatedList:
        value = self.raw.get(name)
        return value if isinstance(value, LocatedList) else LocatedList()
