"""util.nfkc, the shortcut the interpreter and the narrative checks take, is NFKC, whatever the text."""

from __future__ import annotations

import random
import unicodedata

import pytest

from xltool.util import nfkc

TEXTS = [
    "",
    "总体情况",
    "本年共收到政府信息公开申请１２件，办结１１件；结转下年度继续办理１件（详见表三）。",
    "　　一、总体情况：本机关坚持公开为常态！全年收费０元？占比５０％……",
    "～－／．",
    "ｆｕｌｌ　ｗｉｄｔｈ and ascii, mixed",
    "（\u0301）and，\u0338 a combining mark after full-width punctuation",
    "Ａ\u0300 composes after NFKC maps the letter: À",
    "⑴ ㈠ ㎡ ﬁ Ⅻ 〔2019〕 ⼀、⼆ compatibility characters and Kangxi radicals",
    "e\u0301 decomposed, é composed, 한국어 Hangul, \u1100\u1161，\u11a8 jamo around a comma",
    "丽\uf967\u2f00 CJK compatibility ideographs",
]


@pytest.mark.parametrize("text", TEXTS)
def test_nfkc_is_unicodedata_nfkc(text: str) -> None:
    assert nfkc(text) == unicodedata.normalize("NFKC", text)


def test_nfkc_of_every_character_beside_full_width_punctuation() -> None:
    for code in range(0x20, 0x3100):
        text = f"，{chr(code)}：{chr(code)}（０"
        assert nfkc(text) == unicodedata.normalize("NFKC", text), hex(code)


def test_nfkc_on_random_mixtures() -> None:
    pool = "，：；（）！？％　０９ＡＺａｚ。、…\u0300\u0301\u0338\u3099\u309a丽\uf967한가\u11a8eAあかは⑴ﬁ,.;() 0123收到申请件"
    rng = random.Random(15)
    for _ in range(2000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 12)))
        assert nfkc(text) == unicodedata.normalize("NFKC", text), repr(text)
