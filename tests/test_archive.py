"""`xltool archive` (issue 13, point 8): the closed round packed into one zip with a manifest of
SHA-256 sums, never the signing key; `--check` re-verifies every member and the registered sum,
treating the zip as hostile."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest
from test_report_round import build_round, run

from xltool.round.archiving import MANIFEST

PACKED_TOPS = {"round.toml", "roster.csv", "确认记录.json", "下发", "发件箱", "收到", "批注", "汇总", "报告"}


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> tuple[Path, Path, str]:
    """(round folder, archive, the SHA-256 printed): the round, reported and confirmed, with
    copies of its key and files an archive must leave out, then archived from its folder."""
    folder = build_round(tmp_path_factory.mktemp("round"))
    assert run("report", cwd=folder).exit_code == 0
    (folder / "确认记录.json").write_text('{"confirmations": []}', encoding="utf-8")  # as confirm writes it
    key = (folder / "key.txt").read_bytes()
    (folder / "批注" / "密钥备份.txt").write_bytes(key)  # the key under another name
    (folder / "报告" / "key-windows.txt").write_bytes(key.strip() + b"\r\n")  # and as Notepad saves it
    (folder / "下发" / ".DS_Store").write_bytes(b"junk")
    (folder / "下发" / "~$001_某某区发展和改革局_2022.xlsx").write_bytes(b"owner")  # Excel's lock file
    (folder / "汇总" / ".xltool-abc.part").write_bytes(b"half")
    os.symlink(folder / "key.txt", folder / "报告" / "链接.txt")  # a link to the key is the key: left out unsaid
    os.symlink(folder / "roster.csv", folder / "报告" / "名单链接.csv")  # a link may point anywhere: skipped, said
    (folder / "归档" / "旧归档.zip").write_bytes(b"PK old")
    result = run("archive", cwd=folder / "报告")
    assert result.exit_code == 0, result.output
    archives = sorted((folder / "归档").glob("2022年度_某某区人民政府_*.zip"))
    assert len(archives) == 1
    digest = result.stdout.split("SHA-256：")[1].split()[0]
    return folder, archives[0], digest


def read_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def test_the_archive_holds_the_round_and_its_sums(packed) -> None:
    _, archive, digest = packed
    members = read_members(archive)
    assert {name.split("/")[0] for name in members} == PACKED_TOPS | {MANIFEST}
    for expected in ("下发/001_某某区发展和改革局_2022.xlsx", "发件箱/002_某某区教育局_填报通知.eml",
                     "收到/manifest.json", "批注/审核结果.json", "汇总/汇总.xlsx", "汇总/汇总.json",
                     "报告/001000_某某区人民政府.docx", "报告/001000_某某区人民政府.html"):
        assert expected in members
    assert len([n for n in members if n.startswith("收到/") and n.endswith(".xlsx")]) == 2
    manifest = json.loads(members[MANIFEST])
    assert manifest["round"]["year"] == 2022 and manifest["round"]["coordinator"]["name"] == "某某区人民政府"
    listed = {m["path"]: m for m in manifest["members"]}
    assert set(listed) == set(members) - {MANIFEST}
    for name, data in members.items():
        if name != MANIFEST:
            assert listed[name] == {"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert [s["path"] for s in manifest["skipped"]] == ["报告/名单链接.csv"]
    with zipfile.ZipFile(archive) as zf:  # Chinese names flagged UTF-8, so Windows' Explorer shows them
        assert all(i.flag_bits & 0x800 for i in zf.infolist() if not i.filename.isascii())
    assert digest == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert Path(f"{archive}.sha256").read_text(encoding="utf-8") == f"{digest}  {archive.name}\n"
    assert not [p for p in archive.parent.iterdir() if p.name.startswith(".xltool-")]  # no temporary left


def test_the_key_is_never_archived(packed) -> None:
    folder, archive, _ = packed
    key = (folder / "key.txt").read_bytes().strip()
    members = read_members(archive)
    assert not [n for n in members if Path(n).name in ("key.txt", "密钥备份.txt", "key-windows.txt", "链接.txt")]
    assert not [n for n, data in members.items() if key in data]  # by content, under any name
    assert not [n for n in members if "/." in n or "~$" in n or n.startswith(("归档/", "."))]


def test_a_clean_archive_checks_clean(packed) -> None:
    _, archive, digest = packed
    result = run("archive", "--check", archive, "--sha256", digest)
    assert result.exit_code == 0, result.output
    assert "核对无误" in result.stdout and "与登记一致" in result.stdout
    as_json = json.loads(run("archive", "--check", archive, "--json").stdout)
    assert as_json["ok"] is True and as_json["differences"] == [] and as_json["sha256"] == digest
    sums_line = Path(f"{archive}.sha256").read_text(encoding="utf-8")
    assert run("archive", "--check", archive, "--sha256", sums_line).exit_code == 0  # the .sha256 line as given


def rewrite(archive: Path, target: Path, change=None, drop: str | None = None,
            add: dict[str, bytes] | None = None) -> Path:
    """A copy of the archive with one member altered, dropped, or members added; the manifest kept."""
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename == drop:
                continue
            data = src.read(info)
            out.writestr(info, change(info.filename, data) if change else data)
        for name, data in (add or {}).items():
            out.writestr(name, data)
    return target


def test_a_changed_byte_is_named(packed, tmp_path: Path) -> None:
    _, archive, digest = packed
    victim = "汇总/汇总.json"

    def one_byte(name: str, data: bytes) -> bytes:
        return data.replace(b"2", b"3", 1) if name == victim else data

    altered = rewrite(archive, tmp_path / "改过.zip", one_byte)
    result = run("archive", "--check", altered)
    assert result.exit_code == 1
    assert f"不一致：{victim}：内容与清单记录的 SHA-256 不一致" in result.stdout and "共 1 处不一致" in result.stdout
    wrong_sum = run("archive", "--check", altered, "--sha256", digest)
    assert wrong_sum.exit_code == 1 and "与登记的不一致" in wrong_sum.stdout
    report = json.loads(run("archive", "--check", altered, "--json").stdout)
    assert [(d["kind"], d["path"]) for d in report["differences"]] == [("changed", victim)]


def test_missing_and_added_members_are_named(packed, tmp_path: Path) -> None:
    _, archive, _ = packed
    altered = rewrite(archive, tmp_path / "增删.zip", drop="收到/manifest.json", add={"收到/多出来的.xlsx": b"x"})
    report = json.loads(run("archive", "--check", altered, "--json").stdout)
    assert sorted((d["kind"], d["path"]) for d in report["differences"]) == \
        [("extra", "收到/多出来的.xlsx"), ("missing", "收到/manifest.json")]


def test_a_wrong_registered_sum_fails_a_clean_archive(packed) -> None:
    _, archive, digest = packed
    other = ("0" if digest[0] != "0" else "1") + digest[1:]
    result = run("archive", "--check", archive, "--sha256", other)
    assert result.exit_code == 1 and f"登记的是 {other}" in result.stdout
    assert run("archive", "--check", archive, "--sha256", "不是摘要").exit_code == 2


def test_what_is_not_an_archive_is_a_usage_error(packed, tmp_path: Path) -> None:
    folder, archive, _ = packed
    text = tmp_path / "a.zip"
    text.write_text("not a zip", encoding="utf-8")
    result = run("archive", "--check", text)
    assert result.exit_code == 2 and "不是 zip 文件" in result.output
    bare = rewrite(archive, tmp_path / "无清单.zip", drop=MANIFEST)
    result = run("archive", "--check", bare)
    assert result.exit_code == 2 and f"没有 {MANIFEST}" in result.output
    outside = run("archive", cwd=tmp_path)
    assert outside.exit_code == 2 and "本轮文件夹" in outside.output
    assert run("archive", "--sha256", "0" * 64, cwd=folder).exit_code == 2


def test_a_hostile_archive_is_named_never_extracted(packed, tmp_path: Path) -> None:
    _, archive, _ = packed
    work = tmp_path / "work"
    work.mkdir()
    bomb = b"\0" * (20 << 20)  # 20 MiB of zeros: a compression ratio far beyond any real member
    name = "汇总/炸弹.json"

    def listed(member: str, data: bytes) -> bytes:
        if member != MANIFEST:
            return data
        doc = json.loads(data)
        doc["members"].append({"path": name, "size": len(bomb), "sha256": hashlib.sha256(bomb).hexdigest()})
        return json.dumps(doc, ensure_ascii=False).encode("utf-8")

    hostile = rewrite(archive, tmp_path / "恶意.zip", listed, add={"../x": b"escaped", "/abs/y": b"y", name: bomb})
    result = run("archive", "--check", hostile, "--json", cwd=work)
    assert result.exit_code == 1
    kinds = {(d["kind"], d["path"]) for d in json.loads(result.stdout)["differences"]}
    assert {("unsafe-name", "../x"), ("unsafe-name", "/abs/y"), ("extra", "../x"), ("unreadable", name)} <= kinds
    assert not (tmp_path / "x").exists() and not list(work.iterdir())  # nothing written anywhere
