"""The case contract's fields (docs/cases.md): extra fields stay out of the calculation, true or
false is no number, and a message never repeats a person's wage."""

from __future__ import annotations

import json

import pytest

from conftest import EXAMPLES, decide
from yibao.cases import case_batch, parse_case
from yibao.errors import InputError


def example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.case.json").read_text(encoding="utf-8"))


DIBAO = "e3_dibao_one_stop"  # a 低保 person: assistance (医疗救助) pays through the status


@pytest.mark.parametrize("where, field", [
    ("status", "psn_no"),  # moved the status to another person: the assistance was lost
    ("line", "mdtrt_id"),  # the line became an orphan of no claim: refused
    ("line", "note"),
])
def test_an_extra_field_named_like_a_batch_column_stays_out(where: str, field: str) -> None:
    case = example(DIBAO)
    (case["person"]["statuses"][0] if where == "status" else case["lines"][0])[field] = "my own note"
    plain = decide(example(DIBAO))
    assert plain["maf_pay"] > 0
    assert decide(case) == plain


@pytest.mark.parametrize("path", [
    ("lines", 0, "pric"),  # was 1 yuan
    ("lines", 0, "cnt"),
    ("lines", 1, "selfpay_prop"),
    ("claim", "institution", "level"),
    ("person", "employer_avg_monthly_wage"),
])
def test_true_is_no_number(path: tuple) -> None:
    case = example(DIBAO)
    node = case
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = True
    with pytest.raises(InputError, match="true or false where a value of another kind belongs"):
        parse_case(case)


@pytest.mark.parametrize("wage", [-6543.21, 6543.215, "6543.21 yuan"])
def test_a_wage_is_never_repeated_in_a_message(wage: object) -> None:
    case = example("e6_maternity_caesarean")
    case["person"]["employer_avg_monthly_wage"] = wage
    with pytest.raises(InputError, match="employer_avg_monthly_wage") as refused:
        case_batch(parse_case(case))
    assert "6543" not in str(refused.value)


@pytest.mark.parametrize("name, text, message", [
    ("case.yaml", "person: {}\nclaim:\n  admit_date: 2025-02-30\n", "not valid JSON/YAML: day is out of range"),
    ("case.json", '{"person": {}, "claim": {"mdtrt_id": "C\\ud800"}}', "a text holds a lone surrogate"),
    # a key given twice: the last was kept, a line priced at 150 then 15000 cost 15,000
    ("case.json", '{"person": {}, "lines": [{"pric": 150, "cnt": 1, "pric": 15000}]}',
     "not valid JSON/YAML: key 'pric' is given twice in one object: keep one of them"),
    ("case.yaml", "person: {}\nlines:\n  - {pric: 150, cnt: 1, pric: 15000}\n",
     r"not valid JSON/YAML: key 'pric' is given twice \(line 3, column 25\): keep one of them"),
])
def test_a_case_file_that_cannot_be_read_is_one_line(tmp_path, name: str, text: str, message: str) -> None:
    """Both were tracebacks: YAML's own date parser raised ValueError, and the surrogate a
    UnicodeEncodeError when the case's text was made into a table."""
    from yibao.cases import load_case

    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_case(tmp_path / name)


def test_the_message_names_the_faulty_cell_not_a_row_that_went_with_it() -> None:
    """A bad accumulators amount rejects the person, the claim and its lines too; the message
    named the claim's psn_no ("persons row 2 was rejected")."""
    case = example("e5_chronic_cap_left")
    case["accumulators"]["hifp_paid"] = -100
    with pytest.raises(InputError, match=r"^case: accumulators\.hifp_paid: '-100': must be at least 0$"):
        case_batch(parse_case(case))


def test_a_case_file_with_a_bom_reads_and_its_errors_name_the_file(tmp_path, capsys, monkeypatch) -> None:
    """Notepad's BOM was "Unexpected UTF-8 BOM"; a cell the batch reader refused was said to be
    in "case", not in the file."""
    from conftest import run_cli
    from yibao.cases import load_case

    case = example(DIBAO)
    path = tmp_path / "my-case.json"
    path.write_text(json.dumps(case), encoding="utf-8-sig")
    assert load_case(path) == parse_case(case)
    case["lines"][0]["pric"] = 1.234
    path.write_text(json.dumps(case), encoding="utf-8-sig")
    code, err = run_cli(["whatif", str(path)], capsys, monkeypatch)
    assert code == 2 and err.startswith(f"error: {path}: lines.pric: '1.234': more than 2 decimals")
