"""Files a document names stay inside its folder, and errors never quote another file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from meterlib.backbill.case import load_case
from meterlib.cli import main
from meterlib.errors import DocumentError
from meterlib.invoicing.documents import load_contract, parse_contract

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "examples" / "partner_overuse"
MARKER = "confidential-value-4711"

CONTRACT = {
    "customer": "cus_1",
    "billing": {"anchor": "2023-01-01", "cadence": "monthly", "timezone": "UTC"},
    "plans": {"a": {"currency": "USD", "fees": [{"name": "f", "amount": "1"}]}},
    "phases": [{"start": "2023-01-01", "plan": "a"}],
}
METERS = '[[meters]]\nname = "calls"\ntype = "api"\naggregation = "count"\n'


def _contract(folder: Path, meters_file: str) -> Path:
    path = folder / "contract.json"
    path.write_text(json.dumps({**CONTRACT, "meters_file": meters_file}), encoding="utf-8")
    return path


@pytest.fixture
def outside(tmp_path: Path) -> tuple[Path, Path]:
    """A document folder, and a meters file beside it (outside it)."""
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (tmp_path / "meters.toml").write_text(METERS, encoding="utf-8")
    return folder, tmp_path / "meters.toml"


@pytest.mark.parametrize("name", ["../meters.toml", "ABSOLUTE", "sub/../../meters.toml"])
def test_a_contract_may_not_name_a_file_outside_its_folder(outside, name) -> None:
    folder, meters = outside
    if name == "ABSOLUTE":
        name = os.fspath(meters)
    with pytest.raises(DocumentError, match="must name a file inside the document's folder"):
        load_contract(_contract(folder, name))
    assert [m.name for m in load_contract(_contract(folder, name), allow_outside=True).meters] == [
        "calls"
    ]


def test_a_symbolic_link_out_of_the_folder_is_refused(outside) -> None:
    folder, meters = outside
    link = folder / "meters.toml"
    try:
        link.symlink_to(meters)
    except OSError:  # pragma: no cover  (a file system without symbolic links)
        pytest.skip("no symbolic links here")
    with pytest.raises(DocumentError, match="inside the document's folder"):
        load_contract(_contract(folder, "meters.toml"))


def test_a_file_inside_the_folder_is_read(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "m.toml").write_text(METERS, encoding="utf-8")
    assert load_contract(_contract(tmp_path, "sub/m.toml")).meters[0].name == "calls"
    with pytest.raises(DocumentError, match="inside the document's folder"):
        parse_contract({**CONTRACT, "meters_file": "/etc/hostname"}, tmp_path)


def test_errors_in_a_named_file_do_not_quote_its_content(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_text(
        f'[[meters]]\nname = "calls"\ntype = "api"\naggregation = "{MARKER}"\n', encoding="utf-8"
    )
    with pytest.raises(DocumentError) as caught:
        load_contract(_contract(tmp_path, "m.toml"))
    assert "meters_file" in str(caught.value)
    assert "aggregation" in str(caught.value)
    assert MARKER not in str(caught.value)
    (tmp_path / "m.toml").write_bytes(b"\xff\xfe" + MARKER.encode())
    with pytest.raises(DocumentError, match="not UTF-8 text") as caught:
        load_contract(_contract(tmp_path, "m.toml"))
    assert MARKER not in str(caught.value)


def _case(tmp_path: Path, **changes: str) -> Path:
    folder = tmp_path / "case"
    shutil.copytree(CASE, folder)
    text = (folder / "case.toml").read_text(encoding="utf-8")
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    (folder / "case.toml").write_text(text, encoding="utf-8")
    return folder / "case.toml"


def test_a_case_may_not_name_a_file_outside_its_folder(tmp_path: Path) -> None:
    (tmp_path / "usage.csv").write_text((CASE / "usage.csv").read_text("utf-8"), "utf-8")
    path = _case(tmp_path, **{'usage_file = "usage.csv"': 'usage_file = "../usage.csv"'})
    with pytest.raises(DocumentError, match=r"usage_file: must name a file inside"):
        load_case(path)
    assert load_case(path, allow_outside=True).scenarios
    assert main(["backbill", os.fspath(path)]) == 2
    assert main(["backbill", os.fspath(path), "--allow-outside-files"]) == 0


def test_a_case_error_in_a_usage_file_does_not_quote_it(tmp_path: Path, capsys) -> None:
    path = _case(tmp_path)
    usage = path.parent / "usage.csv"
    lines = usage.read_text("utf-8").splitlines()
    first = lines[2].split(",")
    first[2] = MARKER
    lines[2] = ",".join(first)
    usage.write_text("\n".join(lines) + "\n", "utf-8")
    with pytest.raises(DocumentError) as caught:
        load_case(path)
    assert "usage_file" in str(caught.value)
    assert MARKER not in str(caught.value)
    assert main(["backbill", os.fspath(path)]) == 2
    assert MARKER not in capsys.readouterr().err


def test_the_invoice_command_takes_the_flag(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "docs"
    shutil.copytree(ROOT / "examples" / "invoicing", folder)
    shutil.move(folder / "meters.toml", tmp_path / "meters.toml")
    text = (folder / "contract.toml").read_text("utf-8")
    text = text.replace('meters_file = "meters.toml"', 'meters_file = "../meters.toml"')
    (folder / "contract.toml").write_text(text, "utf-8")
    command = [
        "invoice",
        os.fspath(folder / "contract.toml"),
        "--usage",
        os.fspath(folder / "usage-2023-03.json"),
        "--period",
        "2023-03",
    ]
    assert main(command) == 2
    assert "must name a file inside the document's folder" in capsys.readouterr().err
    assert main([*command, "--allow-outside-files"]) == 0
    assert "cus_initech" in capsys.readouterr().out
