"""Every code sample on the documentation site and in the README runs; the site builds cleanly.

Each page's ```python blocks run in order in one namespace (a page builds on its earlier
samples) from the repository root, as the pages say. The site itself is built with
``mkdocs build --strict`` in its own ``.ci/run`` step (the ``docs`` extra), not here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
PAGES = sorted(
    page
    for page in [*DOCS.rglob("*.md"), ROOT / "README.md"]
    if "hooks" not in page.parts and BLOCK.search(page.read_text(encoding="utf-8"))
)


def test_pages_with_code_samples_exist():
    assert len(PAGES) >= 9
    assert ROOT / "README.md" in PAGES


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_python_sample_runs(page: Path, monkeypatch, capsys):
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for number, code in enumerate(blocks, start=1):
        compiled = compile(code, f"{page.relative_to(ROOT)} (python block {number})", "exec")
        exec(compiled, namespace)  # noqa: S102  (our own documentation's samples)
    capsys.readouterr()


def test_the_site_has_no_hand_written_nav_and_ci_builds_it_strictly():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert not re.search(r"^nav:", config, re.MULTILINE)  # every page under docs/ is in the site
    assert "strict: true" in config
    assert "mkdocs build --strict" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
