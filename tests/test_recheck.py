"""Late usage of issued periods: debit and credit notes, or correction lines on the next invoice."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from meterlib._numbers import EXACT
from meterlib.errors import InvalidValueError
from meterlib.invoicing.lifecycle import DocumentKind
from meterlib.invoicing.notes import credit_lines, with_corrections
from meterlib.invoicing.serialize import invoice_from_json
from meterlib.ledger import Ledger
from meterlib.ledger.documents import DocumentStore
from meterlib.ledger.recheck import CorrectionPolicy, recheck
from tests.records_fixtures import at, contract, draft, event

D = Decimal
CON = contract()
JAN, FEB, MAR = CON.period(0), CON.period(1), CON.period(2)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "ledger.sqlite"
    with Ledger(p) as ledger:
        ledger.append([event("e1", 100), event("e2", 50, month=2)], received_at=at(1, 20))
    return p


def late(path: Path, *events: dict[str, object], when: tuple[int, int] = (2, 10)) -> None:
    with Ledger(path) as ledger:
        ledger.append(list(events), received_at=at(*when))


def test_late_usage_becomes_a_debit_note_pointing_at_invoice_and_line(path: Path) -> None:
    with DocumentStore(path) as store, Ledger(path) as ledger:
        issued = store.issue(draft(path, CON, JAN), at=at(2, 3))
        assert recheck(store, ledger, [CON], at=at(2, 4)).issued == ()
        late(path, event("late1", 30, day=31))  # 30 calls: 0.30 + 20 % VAT 0.06
        result = recheck(store, ledger, [CON], at=at(2, 11))
        assert (result.checked, result.recomputed) == (1, 1)
        [note] = result.issued
        assert (note.kind, note.number, note.total) == (DocumentKind.DEBIT_NOTE, "DN-000001",
                                                         D("0.36"))
        value = store.note(note.number)
        assert value.invoice == issued.number
        assert value.cause == "late_usage"
        usage, tax = value.lines
        assert (usage.line, usage.kind, usage.charge, usage.amount, usage.quantity) == (
            1, "usage", "calls", D("0.30"), D(30))
        assert [(e.event_id, e.received) for e in usage.late_events] == [("late1", at(2, 10))]
        assert (tax.line, tax.kind, tax.charge, tax.amount) == (None, "tax", "VAT", D("0.06"))
        assert store.document(issued.number).body == issued.body  # the invoice never changes
        assert store.account(issued.number).amount_due == D("13.56")
        # nothing new: a second re-check issues nothing
        assert recheck(store, ledger, [CON], at=at(2, 12)).issued == ()


def test_less_usage_becomes_a_credit_note_and_notes_add_up(path: Path) -> None:
    with DocumentStore(path) as store, Ledger(path) as ledger:
        number = store.issue(draft(path, CON, JAN), at=at(2, 3)).number
        late(path, event("late1", 30, day=31))
        recheck(store, ledger, [CON], at=at(2, 11))
        late(path, event("fix", -80, day=15), when=(2, 20))  # a correcting event
        [credit] = recheck(store, ledger, [CON], at=at(2, 21)).issued
        assert (credit.kind, credit.number, credit.total) == (
            DocumentKind.CREDIT_NOTE, "CN-000001", D("-0.96"))
        [usage, _] = store.note(credit.number).lines
        assert [e.event_id for e in usage.late_events] == ["fix"]  # not late1 again
        value_now = draft(path, CON, JAN).total  # 10 + 0.50 + VAT 2.10
        assert store.account(number).amount_due == value_now == D("12.60")


def test_a_credit_granted_by_hand_is_not_taken_back_by_a_recheck(path: Path) -> None:
    with DocumentStore(path) as store, Ledger(path) as ledger:
        number = store.issue(draft(path, CON, JAN), at=at(2, 3)).number
        lines = credit_lines(store.invoice(number), [], amount="5.00")
        store.issue_note(number, lines, cause="credit", reason="goodwill", at=at(2, 4))
        late(path, event("late1", 30, day=31))
        [note] = recheck(store, ledger, [CON], at=at(2, 11)).issued
        assert note.total == D("0.36")
        assert store.account(number).amount_due == D("8.56")


def test_next_invoice_policy_bills_the_delta_as_correction_lines(path: Path) -> None:
    policy = CorrectionPolicy(mode="next_invoice")
    with DocumentStore(path) as store, Ledger(path) as ledger:
        jan = store.issue(draft(path, CON, JAN), at=at(2, 3)).number
        late(path, event("late1", 30, day=31))
        result = recheck(store, ledger, [CON], policy=policy, at=at(2, 11))
        assert result.issued == ()
        [correction] = result.corrections
        assert (correction.invoice, correction.total) == (jan, D("0.36"))
        feb_draft = with_corrections(draft(path, CON, FEB), correction.lines)
        feb = store.issue(feb_draft, at=at(3, 2))
        bill = invoice_from_json(feb.body)
        assert bill.total == EXACT.add(D("12.60"), D("0.36"))
        fixes = [line for line in bill.lines if line.corrects is not None]
        assert [(f.corrects.invoice, f.corrects.line, f.rounded) for f in fixes if f.corrects] == [
            (jan, 1, D("0.30")), (jan, None, D("0.06"))]
        assert fixes[0].description == f"Correction of {jan} line 2: calls"
        assert [e.event_id for e in fixes[0].corrects.late_events] == ["late1"]  # type: ignore[union-attr]
        # the correction counts as billed: the next re-check finds nothing for January
        again = recheck(store, ledger, [CON], policy=policy, at=at(3, 3))
        assert again.corrections == ()


def test_policy_limits_how_many_periods_are_rechecked(path: Path) -> None:
    with DocumentStore(path) as store, Ledger(path) as ledger:
        store.issue(draft(path, CON, JAN), at=at(2, 3))
        store.issue(draft(path, CON, FEB), at=at(3, 3))
        late(path, event("late1", 30, day=31), when=(3, 10))
        latest_only = recheck(store, ledger, [CON], policy=CorrectionPolicy(periods=1),
                              at=at(3, 11))
        assert (latest_only.checked, latest_only.issued) == (1, ())
        both = recheck(store, ledger, [CON], at=at(3, 11))
        assert (both.checked, len(both.issued)) == (2, 1)
        assert recheck(store, ledger, [], at=at(3, 12)).skipped == ("INV-000001", "INV-000002")
    with pytest.raises(InvalidValueError, match="'periods' must be a whole number >= 1"):
        CorrectionPolicy(periods=0)
    with pytest.raises(InvalidValueError, match="'mode' must be 'notes' or 'next_invoice'"):
        CorrectionPolicy(mode="later")  # type: ignore[arg-type]


def test_correction_lines_an_invoice_carries_are_not_its_own_period(path: Path) -> None:
    policy = CorrectionPolicy(mode="next_invoice")
    with DocumentStore(path) as store, Ledger(path) as ledger:
        store.issue(draft(path, CON, JAN), at=at(2, 3))
        late(path, event("late1", 30, day=31))
        [correction] = recheck(store, ledger, [CON], policy=policy, at=at(2, 11)).corrections
        feb = store.issue(with_corrections(draft(path, CON, FEB), correction.lines), at=at(3, 2))
        late(path, event("late2", 0, month=2), when=(3, 5))  # February re-checked: unchanged
        again = recheck(store, ledger, [CON], policy=policy, at=at(3, 6))
        assert again.recomputed == 2  # January (late1, already billed) and February
        assert again.corrections == ()
        assert store.invoice(feb.number).total == D("12.96")
