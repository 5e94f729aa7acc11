"""The analyst notebook examples/partner_liability.ipynb runs top to bottom and shows the total."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

EXAMPLES = Path(__file__).parent.parent / "examples"


def _outputs(notebook: object) -> str:
    texts = []
    for cell in notebook.cells:  # type: ignore[attr-defined]
        # Printed text may reach the notebook in several stream chunks, split anywhere: a
        # cell's stream text is their concatenation.
        streams = [o.get("text", "") for o in cell.get("outputs", []) if "text" in o]
        texts.append("".join(streams))
        for output in cell.get("outputs", []):
            texts.extend(v for v in output.get("data", {}).values() if isinstance(v, str))
    return "\n".join(texts)


def test_notebook_runs_and_shows_the_expected_total():
    notebook = nbformat.read(EXAMPLES / "partner_liability.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        # Generous bounds: a loaded machine may start the kernel and run a cell slowly; the
        # bounds only stop a notebook that hangs.
        timeout=1800,
        startup_timeout=600,
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()
    text = _outputs(notebook)
    assert "total owed:   346375.98 USD" in text
    assert "<svg" in text
    # the charts display themselves: usage, liability, scenarios, both sensitivities
    for title in ("Usage against allowance", "Liability over time", "Total owed by scenario",
                  "Sensitivity to the interest rate", "Sensitivity to the valuation date"):
        assert title in text, title
    assert 'class="ml-root ml-' in text  # the statement's fragment, with its scoped stylesheet
    assert "$346,375.98" in text  # the statement's HTML table
    assert "$403,358.65" in text  # the high scenario in the comparison
    assert "['2023-02', '2023-03', '2023-04'] time-barred" in text
