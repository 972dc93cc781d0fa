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


def test_yaml_aliases_of_aliases_are_read_once_each(tmp_path) -> None:
    """Nine lists of nine aliases of the list before (444 bytes): the lone-surrogate check wrote
    every alias out in full, 387 million texts, 100 s and 11.8 GB before the case was refused.
    Under an address space of 1 GB that was a MemoryError; a surrogate behind an alias is still
    found."""
    import subprocess
    import sys

    laughs = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    laughs += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    (tmp_path / "case.yaml").write_text("\n".join([*laughs, "person: *a8"]) + "\n", encoding="utf-8")
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
    read = ("from pathlib import Path; from yibao.cases import load_case; from yibao.errors import InputError\n"
            "try: load_case(Path(r'%s'))\nexcept InputError as exc: print(exc)" % (tmp_path / "case.yaml"))
    run = subprocess.run([sys.executable, "-c", limit + read], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "person: Input should be a valid dictionary" in run.stdout, run.stderr[-300:]
    from yibao.cases import load_case

    (tmp_path / "case.yaml").write_text('a: &a ["x\\ud800"]\nb: &b [*a, *a]\nperson: {}\nclaim: {diagnoses: *b}\n',
                                        encoding="utf-8")
    with pytest.raises(InputError, match="a text holds a lone surrogate"):
        load_case(tmp_path / "case.yaml")


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
    assert code == 2 and err.startswith(f"error: {path}: lines.0.pric: '1.234': more than 2 decimals")


@pytest.mark.parametrize("path, slip, meant", [
    (("claim",), "settlment_mode", "settlement_mode"),  # was ignored: the claim taken as direct
    (("person",), "certfications", "certifications"),  # the certified disease lost
    (("claim", "institution"), "Out_of_area", "out_of_area"),  # an out-of-area stay paid as local
    (("lines", 0), "selfpay_propp", "selfpay_prop"),
    (("accumulators",), "hifp_payd", "hifp_paid"),  # the year's fund paid taken as 0
])
def test_a_misspelt_field_is_refused_naming_the_field_meant(path: tuple, slip: str, meant: str) -> None:
    case = example("e5_chronic_cap_left")
    node = case
    for key in path:
        node = node[key]
    node[slip] = node.pop(meant) if meant in node else 1
    with pytest.raises(InputError, match=rf"^case: {'.'.join(map(str, path))}: '{slip}' is no field of the case: "
                                         rf"did you mean '{meant}'\?"):
        parse_case(case)


def test_fields_of_ones_own_that_look_like_no_field_still_stay_out() -> None:
    case = example(DIBAO)
    case["claim"] |= {"note": "resent after a phone call", "my_ref": "R-17", "settlement_mode_before": "manual"}
    assert decide(case) == decide(example(DIBAO))


def test_accumulators_of_another_year_than_the_claims_are_refused() -> None:
    """They were dropped without a word, and the claim paid as the person's first of the year."""
    case = example("e5_chronic_cap_left")
    year = int(case["claim"]["discharge_date"][:4])
    case["accumulators"]["year"] = year - 1
    with pytest.raises(InputError, match=rf"^case: accumulators\.year is {year - 1}, but the claim falls in {year} "
                                         rf"\(its discharge_date\): give the accumulators of {year}$"):
        parse_case(case)


@pytest.mark.parametrize("path, value, message", [
    (("lines", 2, "pric"), 1.234, "lines.2.pric: '1.234': more than 2 decimals"),  # was "lines.pric"
    (("lines", 1, "service_date"), "1600-01-01", "lines.1.service_date: '1600-01-01': not a date from"),
    (("person", "psn_no"), " ", "person.psn_no: a value is required"),  # was "persons.psn_no"
])
def test_a_cell_the_batch_reader_refuses_is_named_where_the_case_holds_it(path: tuple, value: object,
                                                                           message: str) -> None:
    """Among twenty lines, "lines.pric" did not say which."""
    case = example("e1_resident_county_inpatient")
    node = case
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(InputError, match="^case: " + message.replace(".", r"\.").replace("(", r"\(")):
        case_batch(parse_case(case))


def test_a_message_quotes_no_case_and_no_more_than_a_short_value() -> None:
    """A case wrapped in a list, or a person given as a list, was quoted whole (psn_no, birth
    date) in the message; a 1,000,000-character id was echoed whole."""
    case = example(DIBAO)
    psn = case["person"]["psn_no"]
    for faulty in ([case], dict(case, person=[case["person"]])):
        with pytest.raises(InputError) as refused:
            parse_case(faulty)
        assert psn not in str(refused.value) and case["person"]["birth_date"] not in str(refused.value)
    long = dict(case, claim=dict(case["claim"], mdtrt_id="X" * 1_000_000))
    with pytest.raises(InputError, match=r"^case: claim\.mdtrt_id: 'X{80}'… \(1,000,000 characters\): longer than 64"):
        case_batch(parse_case(long))


def test_a_case_file_that_is_not_utf8_says_so_and_how_to_save_it(tmp_path, capsys, monkeypatch) -> None:
    """A case saved as GBK (Excel and Notepad on Chinese Windows) said "'utf-8' codec can't
    decode byte 0xb8 in position 468: invalid start byte"."""
    from conftest import run_cli

    case = example(DIBAO)
    case["claim"]["diagnoses"] = ["肝硬化K74.6"]
    path = tmp_path / "gbk-case.json"
    path.write_bytes(json.dumps(case, ensure_ascii=False).encode("gbk"))
    code, err = run_cli(["whatif", str(path)], capsys, monkeypatch)
    assert (code, err) == (2, f"error: {path}: cannot read case: the file is not UTF-8 text (save it as UTF-8)\n")


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
@pytest.mark.parametrize("path, digits, shown", [
    (("lines", 0, "pric"), 5000, True),  # more than Python converts: "Exceeds the limit (4300 digits)"
    (("lines", 0, "pric"), 400, True),  # more than a float holds: "Input should be a valid number"
    (("person", "psn_no"), 5000, False),  # a person's: never quoted
])
def test_a_number_of_thousands_of_digits_is_out_of_range_naming_its_field(tmp_path, suffix: str, path: tuple,
                                                                          digits: int, shown: bool) -> None:
    """The parser's "Exceeds the limit (4300 digits) for integer string conversion … use
    sys.set_int_max_str_digits()" named no field and told the user to change Python."""
    import yaml

    from yibao.cases import load_case

    case = example(DIBAO)
    node = case
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "@@@"
    file = tmp_path / f"case{suffix}"
    text = json.dumps(case, ensure_ascii=False) if suffix == ".json" else yaml.safe_dump(case, allow_unicode=True)
    file.write_text(text.replace("'@@@'", "@@@").replace('"@@@"', "@@@").replace("@@@", "9" * digits),
                    encoding="utf-8")
    quote = rf" \(got '9{{80}}'… \({digits:,} characters\)\)" if shown else ""
    with pytest.raises(InputError, match=rf"^{file}: {'.'.join(map(str, path))}: a number out of range{quote}$"):
        load_case(file)


@pytest.mark.parametrize("path, value", [
    (("person", "birth_date"), 19700615),  # "Datetimes provided to dates should have zero time"
    (("person", "birth_date"), "19700615"),
    (("person", "birth_date"), 0),  # was accepted: 1970-01-01, seconds since 1970
    (("claim", "admit_date"), 1746489600),  # was accepted: 2025-05-06
    (("lines", 0, "service_date"), 20250507.0),
])
def test_a_date_written_as_a_number_is_refused_saying_how_dates_are_written(path: tuple, value: object) -> None:
    case = example(DIBAO)
    node = case
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(InputError, match=rf"^case: {'.'.join(map(str, path))}: a date is written YYYY-MM-DD, "
                                         r"not as a number") as refused:
        parse_case(case)
    assert ("(got" in str(refused.value)) is (path[-1] != "birth_date")  # a birth date is a person's
