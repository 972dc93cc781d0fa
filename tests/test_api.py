"""The library's arguments as a settlement job or a notebook passes them: an argument of another
kind is one `InputError` naming what was expected, never an `AttributeError` from deep inside,
and never a silent reading (a ledger file named "1", a string's characters as edits)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pytest

import yibao
from yibao.errors import InputError


@pytest.fixture(scope="module")
def result(synth_folder: Path) -> Any:
    return yibao.score(synth_folder)


CALLS: dict[str, tuple[Callable[[Path, Any], Any], str]] = {
    "tariff as a number": (lambda folder, _: yibao.score(folder, tariff=123), "a tariff is an id.*not an int"),
    "tariff as a mapping": (lambda folder, _: yibao.score(folder, tariff={}), "not a dict"),
    "tariff as a list of numbers": (lambda folder, _: yibao.score(folder, tariff=[1]), "not a list"),
    "reform as a number": (lambda folder, _: yibao.simulate(folder, reform=1), "a tariff is an id.*not an int"),
    "ledger as a number": (lambda folder, _: yibao.score(folder, ledger=1), "a ledger is .*not an int"),
    "period as a number": (lambda folder, tmp: yibao.score(folder, ledger=tmp / "l.db", period=202505),
                           "the period is a month as text.*not an int"),
    "period not a month": (lambda folder, tmp: yibao.score(folder, ledger=tmp / "l.db", period="2025-13"),
                           "give a month as YYYY-MM"),
    "accumulators as a number": (lambda folder, _: yibao.score(folder, accumulators=1), "not an int"),
    "an edit as a number": (lambda folder, _: yibao.simulate(folder, set=[1]), "an edit of set is text"),
    "edits as a mapping": (lambda folder, _: yibao.simulate(folder, set={"a": 1}), "set is a list.*not a dict"),
}


@pytest.mark.parametrize("name", CALLS)
def test_an_argument_of_another_kind_is_one_line(name: str, synth_folder: Path, tmp_path: Path) -> None:
    call, message = CALLS[name]
    with pytest.raises(InputError, match=message):
        call(synth_folder, tmp_path)
    assert list(tmp_path.iterdir()) == [] and not Path("1").exists()  # no ledger made on the way


@pytest.mark.parametrize("period", [202505, None])
def test_settle_a_period_of_another_kind(result: Any, period: Any) -> None:
    with pytest.raises(InputError, match="the period is a month as text"):
        yibao.settle(result, period)


def test_settle_institutions_of_another_kind(result: yibao.Result) -> None:
    with pytest.raises(InputError, match="institutions are a table file.*not an int"):
        yibao.settle(result, "2025-05", institutions=1)


def test_settle_something_that_is_not_a_result() -> None:
    with pytest.raises(InputError, match="a score folder or the Result of yibao.score; an int has no claims"):
        yibao.settle(1, "2025-05")


def test_one_edit_as_a_string_is_that_edit(synth_folder: Path) -> None:
    """A string is a sequence too: its characters used to be the edits ("--set i: expected PATH=VALUE")."""
    edit = "inpatient.schemes[insutype=390,level=2].deductible=400"
    one, listed = yibao.simulate(synth_folder, set=edit), yibao.simulate(synth_folder, set=[edit])
    pd.testing.assert_frame_equal(one.claims, listed.claims)
    assert len(one.tariff_diff) >= 1 and one.tariff_diff.equals(listed.tariff_diff)


def test_the_writers_take_a_folder_as_text(result: yibao.Result, tmp_path: Path) -> None:
    """A job names its folders as `yibao.score` and `yibao.settle` take them, as text too: the
    writers and `verify_folder` failed on one from deep inside (`'str' object has no attribute
    'exists'`, `unsupported operand type(s) for /`)."""
    from yibao.scored import write_scored
    from yibao.settlement import verify_folder, write_settlement

    write_scored(result, str(tmp_path / "scored"))
    month = yibao.settle(str(tmp_path / "scored"), "2025-05")
    write_settlement(month, str(tmp_path / "settled"))
    assert verify_folder(str(tmp_path / "settled")) == []
    with pytest.raises(InputError, match="the output folder is a path, not an int"):
        write_settlement(month, 1)  # type: ignore[arg-type]
