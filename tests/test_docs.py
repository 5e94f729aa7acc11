"""Every code sample on the documentation site and in the README runs; the site builds cleanly.

Each page's ```python blocks run in order in one namespace (a page builds on its earlier
samples) from the repository root, as the pages say. The site itself is built with
``mkdocs build --strict`` in its own ``.ci/run`` step (the ``docs`` extra), not here.

The samples run in Python's default decimal context (28 digits, half-even), the one a reader
who pastes them has, also when ``METERLIB_CALLER_PREC`` narrows the suite's context: a sample's
own arithmetic (``sum(...)``, ``a - b`` on the figures it prints) is the reader's, and rewriting
it in meterlib's private context would make the pages read unlike the code they ask readers to
write. Results that must not depend on the caller's context are tested elsewhere under it.
"""

from __future__ import annotations

import decimal
import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
#: Python's documented default context: what a reader running a sample has.
READER_CONTEXT = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)
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
    with decimal.localcontext(READER_CONTEXT):
        _run_samples(page, blocks, namespace)
    capsys.readouterr()


def _run_samples(page: Path, blocks: list[str], namespace: dict[str, object]) -> None:
    for number, code in enumerate(blocks, start=1):
        name = f"{page.relative_to(ROOT)} (python block {number})"
        if code.lstrip().startswith(">>>"):  # a session: its printed output is checked too
            test = doctest.DocTestParser().get_doctest(code, namespace, name, str(page), 0)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
            report: list[str] = []
            runner.run(test, out=report.append, clear_globs=False)
            assert runner.summarize(verbose=False).failed == 0, "".join(report)
            namespace.update(test.globs)  # a DocTest runs in a copy of the page's namespace
            continue
        exec(compile(code, name, "exec"), namespace)  # noqa: S102  (our own docs' samples)


def test_the_site_has_no_hand_written_nav_and_ci_builds_it_strictly():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert not re.search(r"^nav:", config, re.MULTILINE)  # every page under docs/ is in the site
    assert "strict: true" in config
    assert "mkdocs build --strict" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
