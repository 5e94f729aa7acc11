"""open_ledger picks the backend from the file's header, else from its name."""

import pytest

from meterlib.errors import InvalidValueError
from meterlib.ledger import Ledger
from meterlib.ledger.backends import backend_of, open_ledger


def test_new_files_by_name_and_existing_files_by_header(tmp_path):
    pytest.importorskip("duckdb")
    from meterlib.ledger.duck import DuckLedger  # noqa: PLC0415

    lite, duck = tmp_path / "a.sqlite", tmp_path / "b.duckdb"
    assert backend_of(lite) == "sqlite"
    assert backend_of(duck) == "duckdb"
    with open_ledger(lite) as opened:
        assert type(opened) is Ledger
    with open_ledger(duck) as opened:
        assert type(opened) is DuckLedger
    renamed = tmp_path / "c.ledger"
    duck.rename(renamed)
    assert backend_of(renamed) == "duckdb"
    with open_ledger(renamed) as opened:
        assert type(opened) is DuckLedger
    assert backend_of(lite.rename(tmp_path / "d.duckdb")) == "sqlite"


def test_an_unknown_backend_is_refused(tmp_path):
    with pytest.raises(InvalidValueError, match="backend"):
        open_ledger(tmp_path / "x", backend="postgres")
