"""The shipped example, examples/partner_overuse/: its statement, checked against hand figures.

The partner paid the $100 Basic plan (10,000 reads included) every month from February 2023 to
April 2024 while reading millions of records a month. The case re-bills each month at the
published price of the tier the usage needed:

    first 10,000 reads            $100 flat (the Basic fee)
    reads 10,001 .. 1,000,000     $0.005 each (990,000 reads in that tier = $4,950)
    reads above 1,000,000         $0.00084 each, $0.001 each from June 2023

so a month of ``u`` reads above 1,000,000 costs ``100 + 4,950 + (u - 1,000,000) x top``:
``0.00084 u + 4,210`` before June 2023 and ``0.001 u + 4,050`` from June 2023.
Each month is due 30 days after it ends; interest is 9 % a year, simple, actual/365, on the
delta, from the due date to the valuation date 2024-12-31; rounded once per month, half-up.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib._numbers import exact_sum
from meterlib.backbill import BackbillCase, load_case
from meterlib.cli import main
from meterlib.render import render_statement

CASE = Path(__file__).parent.parent / "examples" / "partner_overuse" / "case.toml"


@pytest.fixture(scope="module")
def case() -> BackbillCase:
    return load_case(CASE)


def test_the_case_as_configured(case):
    assert case.as_of == date(2024, 12, 31)
    assert case.basis == "published"
    assert case.lookback_years == 6
    assert case.interest.describe() == "9% a year, simple, actual/365"
    assert [s.name for s in case.scenarios] == ["low", "base", "high"]
    assert len(case.billed) == 15


def test_february_2023_stays_within_the_allowance(case):
    # 8,000 reads <= 10,000 included: re-billed $100 flat = billed $100; nothing owed.
    line = case.statement().lines[0]
    assert line.label == "2023-02"
    assert line.overuse == 0
    assert (line.rebilled, line.delta, line.interest) == (Decimal(100), 0, 0)


def test_march_2023_by_hand(case):
    # 2,400,000 reads, list of Feb 2023: 100 + 990,000 x 0.005 + 1,400,000 x 0.00084
    #   = 100 + 4,950 + 1,176 = 6,226.00; billed 100.00 -> delta 6,126.00.
    # Due 2023-04-01 + 30 days = 2023-05-01. Days to 2024-12-31: 366 (to 2024-05-01, over
    # 29 Feb 2024) + 244 (to 2024-12-31) = 610.
    # Interest: 6,126 x 0.09 x 610 / 365 = 336,317.4 / 365 = 921.4175... -> 921.42.
    line = case.statement().lines[1]
    assert line.version == "Published list Feb 2023"
    assert line.rebilled == Decimal("6226.00")
    assert line.delta == Decimal("6126.00")
    assert line.due == date(2023, 5, 1)
    assert line.days_late == 610
    assert line.interest == Decimal("921.42")
    assert [part.amount for part in line.breakdown] == [
        Decimal(100), Decimal(4950), Decimal(1176)
    ]


def test_june_2023_uses_the_new_price_by_hand(case):
    # 4,000,000 reads, list of Jun 2023: 100 + 4,950 + 3,000,000 x 0.001 = 8,050.00;
    # delta 7,950.00. Due 2023-07-01 + 30 = 2023-07-31; 366 + 153 = 519 days to 2024-12-31.
    # Interest: 7,950 x 0.09 x 519 / 365 = 371,344.5 / 365 = 1,017.3821... -> 1,017.38.
    line = case.statement().lines[4]
    assert line.label == "2023-06"
    assert line.version == "Published list Jun 2023"
    assert line.rebilled == Decimal("8050.00")
    assert line.days_late == 519
    assert line.interest == Decimal("1017.38")


def test_base_totals_by_hand(case):
    # Re-billed: Feb 100 + Mar 6,226 + Apr (0.00084 x 15M + 4,210 =) 16,810
    #   + May (0.00084 x 31M + 4,210 =) 30,250 + Jun 2023..Apr 2024: 0.001 x 219,700,000 reads
    #   + 11 x 4,050 = 219,700 + 44,550 = 264,250 -> 317,636.00. Billed 15 x 100 = 1,500.00.
    # Interest: the sum of the 15 monthly figures, each rounded as above (recomputed with
    # fractions outside meterlib while writing this test) = 30,239.98.
    statement = case.statement()
    totals = statement.totals
    assert totals.rebilled == Decimal("317636.00")
    assert totals.billed == Decimal("1500.00")
    assert totals.delta == Decimal("316136.00")
    assert totals.interest == Decimal("30239.98")
    assert totals.total == Decimal("346375.98")
    assert totals.barred == 0
    assert statement.cutoff == date(2018, 12, 31)
    # One debit note per month of overuse (14), each pointing at its invoice, adding up.
    assert len(statement.documents) == 14
    assert statement.documents[0].corrects == "INV-2023-03"
    assert exact_sum(d.signed_total for d in statement.documents) == totals.total


def test_scenarios_side_by_side(case):
    # low is 80 % and high 120 % of base in every month of overuse; the re-billed part above
    # the fixed 100 + 4,950 moves in proportion, so the deltas are 264,064.80 and 368,207.20.
    comparison = case.compare()
    assert comparison.names == ("low", "base", "high")
    figures = {s.scenario: (s.totals.delta, s.totals.interest) for s in comparison.statements}
    assert figures == {
        "low": (Decimal("264064.80"), Decimal("25328.50")),
        "base": (Decimal("316136.00"), Decimal("30239.98")),
        "high": (Decimal("368207.20"), Decimal("35151.45")),
    }


def test_contract_basis_claims_nothing(case):
    # The Basic plan had no overage price: re-billed $100 a month, as billed.
    statement = case.statement(basis="contract")
    assert statement.totals.total == 0
    assert statement.lines[5].allowance == Decimal(10000)


def test_a_later_valuation_date_bars_the_oldest_months(case):
    # Valued 2029-06-30, the six-year limit is 2023-06-30: February (due 2023-03-31), March
    # (2023-05-01) and April (2023-05-31) are listed as time-barred; May (due 2023-07-01) is not.
    statement = case.statement(as_of=date(2029, 6, 30))
    assert [line.label for line in statement.lines if line.barred] == [
        "2023-02", "2023-03", "2023-04"
    ]
    assert statement.totals.barred_delta == Decimal("22836.00")  # 0 + 6,126 + 16,710


def test_the_readme_command_prints_the_statement(capsys):
    assert main(["backbill", str(CASE)]) == 0
    text = capsys.readouterr().out
    assert "TOTAL OWED" in text
    assert "$346,375.98" in text
    assert "$403,358.65" in text  # the high scenario, in the comparison
    case = load_case(CASE)
    assert text == render_statement(case.statement(), comparison=case.compare())
