"""meterlib.testing: public strategies, the opt-in pytest plugin, and the downstream example."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from hypothesis import given, settings

import meterlib
from meterlib import Accumulator, InvalidValueError, Meter, parse_price
from meterlib.testing import PriceBook
from meterlib.testing.contracts import contracts
from meterlib.testing.events import CYCLE, WINDOW, event_sets, meters
from meterlib.testing.strategies import prices, tier_tuples

ROOT = Path(__file__).resolve().parent.parent
DOWNSTREAM = ROOT / "examples" / "downstream_test"
SWITCH = "meterlib.testing.switch"


def _entry_point_installed() -> bool:
    return any(ep.value == SWITCH for ep in metadata.entry_points(group="pytest11"))


def run_pytest(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """pytest in a subprocess, as a downstream project runs it (the entry point loaded by hand
    where this checkout's metadata is not the installed one)."""
    load = [] if _entry_point_installed() else ["-p", SWITCH]
    # The meterlib under test, whatever the working directory (PYTHONPATH=src is relative).
    source = str(Path(meterlib.__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.run(  # noqa: S603  (pytest on our own example)
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *load, *args],
        cwd=cwd,
        # Not an xdist worker's environment: the example runs as a project of its own (a plugin
        # such as pytest-benchmark would otherwise think it runs under xdist, and warn).
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")},
            "PYTHONPATH": path,
        },
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_entry_point_is_declared_and_importable():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["entry-points"]["pytest11"] == {"meterlib": SWITCH}
    __import__(SWITCH)


def test_the_downstream_example_passes_with_meterlib_as_its_oracle():
    result = run_pytest(str(DOWNSTREAM))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_fixtures_stay_off_unless_the_project_opts_in(tmp_path):
    (tmp_path / "test_plain.py").write_text(
        "import pytest\n"
        "def test_no_ledger(request):\n"
        "    with pytest.raises(pytest.FixtureLookupError):\n"
        "        request.getfixturevalue('meterlib_ledger')\n"
        "def test_uses_it(meterlib_ledger):\n"
        "    pass\n",
        encoding="utf-8",
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    off = run_pytest(str(tmp_path), cwd=tmp_path)
    assert off.returncode == 1, off.stdout
    assert "fixture 'meterlib_ledger' not found" in off.stdout
    assert "1 passed" in off.stdout
    on = run_pytest("--meterlib-fixtures", "-k", "uses_it", str(tmp_path), cwd=tmp_path)
    assert on.returncode == 0, on.stdout + on.stderr


def test_the_price_book_is_frozen_and_names_what_it_lacks():
    book = PriceBook.from_folder(ROOT / "examples" / "prices")
    assert list(book) == sorted(book)
    assert book.rate("api_graduated", 0).rounded() == 49
    with pytest.raises(KeyError, match="api_graduated"):
        book["nope"]
    with pytest.raises(TypeError):
        book["x"] = book["api_graduated"]  # type: ignore[index]
    with pytest.raises(InvalidValueError, match="an existing folder"):
        PriceBook.from_folder(ROOT / "no-such-folder")


@settings(max_examples=20, deadline=None)
@given(price=prices(), tiers=tier_tuples(bounded_last=None))
def test_price_strategies_draw_valid_prices(price, tiers):
    assert parse_price(price.model_dump(mode="json")) == price
    ups = [t.up_to for t in tiers if t.up_to is not None]
    assert ups == sorted(set(ups))


@settings(max_examples=20, deadline=None)
@given(meter=meters(), stream=event_sets(max_events=10))
def test_meter_and_event_strategies_draw_what_the_accumulator_takes(meter, stream):
    assert isinstance(meter, Meter)
    accumulator = Accumulator([meter], CYCLE, window=WINDOW)
    report = accumulator.add(stream)
    assert report.rejected == ()
    assert report.received == len(stream)


@settings(max_examples=5, deadline=None)
@given(contract=contracts())
def test_contract_strategy_draws_contracts(contract):
    assert contract.customer == "cus_law"


def test_strategies_without_hypothesis_name_the_extra():
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "try:\n"
        "    import meterlib.testing.strategies\n"
        "except ImportError as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    result = subprocess.run(  # noqa: S603  (our own code)
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.stdout.startswith("MissingDependencyError"), result.stdout + result.stderr
    assert "pip install 'meterlib[testing]'" in result.stdout
