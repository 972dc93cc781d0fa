"""`yibao synth`: deterministic, valid, realistically mixed tables whose lines come from the
catalogue, with a few lines that break audit edits (checked here independently of the
generator, from the catalogue's restriction columns)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from yibao.cli.synth import run
from yibao.io import read_batch
from yibao.tariffs import resolve

CLAIMS = 3000
YEAR = 2025


def synth(out: Path, *args: str) -> str:
    app = typer.Typer()
    app.command()(run)
    result = CliRunner().invoke(app, ["--claims", str(CLAIMS), "--seed", "11", "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return result.output


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("synth")
    synth(out)
    batch, rejects = read_batch(out)
    assert rejects.empty, rejects.head().to_dict("records")
    return batch


@pytest.fixture(scope="module")
def catalogue() -> pd.DataFrame:
    return resolve(f"sample-county@{YEAR}").catalogue


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    output = synth(tmp_path / "a")
    synth(tmp_path / "b")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert "lines.parquet" in digests(tmp_path / "a") and "claims" in output
    app = typer.Typer()
    app.command()(run)
    CliRunner().invoke(app, ["--claims", str(CLAIMS), "--seed", "12", "--out", str(tmp_path / "c")])
    assert digests(tmp_path / "c")["lines.parquet"] != digests(tmp_path / "a")["lines.parquet"]


def test_csv_same_bytes_and_zero_rejects(tmp_path: Path) -> None:
    synth(tmp_path / "a", "--format", "csv")
    synth(tmp_path / "b", "--format", "csv")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert set(digests(tmp_path / "a")) >= {f"{t}.csv" for t in ("persons", "claims", "lines", "filings")}
    _, rejects = read_batch(tmp_path / "a")
    assert rejects.empty


def test_bad_format_is_refused(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(run)
    args = ["--claims", "10", "--seed", "1", "--out", str(tmp_path), "--format", "xml"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0


def share(values: pd.Series, value: str) -> float:
    return float((values == value).mean())


def test_claim_mix(batch) -> None:  # type: ignore[no-untyped-def]
    claims = batch.claims
    assert len(claims) == CLAIMS
    assert 0.30 < share(claims["med_type"], "21") < 0.40
    assert 0.30 < share(claims["med_type"], "11") < 0.40
    assert 0.16 < share(claims["med_type"], "14") < 0.24
    assert 0.02 < share(claims["med_type"], "51") + share(claims["med_type"], "52") < 0.05
    applications = claims[claims["kind"] != "claim"]
    assert 0.02 < len(applications) / len(claims) < 0.06
    assert set(applications["kind"]) == {"chronic_application", "referral_application",
                                         "assistance_application", "maternity_application"}
    assert (applications["settlement_mode"] == "").all()
    assert set(claims.loc[claims["kind"] == "claim", "settlement_mode"]) == {"direct", "manual"}
    dates = pd.concat([claims["admit_date"], claims["discharge_date"], claims["submitted_date"]]).dropna()
    assert dates.dt.year.eq(YEAR).all()
    stays = claims.dropna(subset=["admit_date", "discharge_date"])
    assert (stays["discharge_date"] >= stays["admit_date"]).all()


def test_people(batch) -> None:  # type: ignore[no-untyped-def]
    persons = batch.persons
    assert 3 <= len(batch.claims) / len(persons) <= 5
    assert 0.65 < share(persons["insutype"], "390") < 0.85
    employees = persons[persons["insutype"] == "310"]
    assert set(employees["employee_status"]) == {"in_service", "retired"}
    assert (persons.loc[persons["insutype"] == "390", "employee_status"] == "").all()
    age = (pd.Timestamp(f"{YEAR}-07-01") - persons["birth_date"]).dt.days / 365.25
    assert (age < 14).mean() > 0.05
    maternity = persons[persons["maternity_contribution_months"].notna()]
    assert (maternity["gender"] == "F").all() and (maternity["insutype"] == "310").all()
    assert persons["left_employment_date"].notna().any()
    assert persons["spouse_of_insured_male_employee"].fillna(False).any()
    statuses = batch.statuses
    assert 0.01 < statuses["psn_no"].nunique() / len(persons) < 0.10
    kinds = {"tekun", "dibao", "low_income", "relapse_monitored", "priority_care", "retired_cadre"}
    assert set(statuses["kind"]) <= kinds and len(set(statuses["kind"])) >= 4
    assert (statuses["valid_to"].dt.year == YEAR).any() and statuses["valid_to"].isna().any()
    # women only have maternity claims
    mothers = batch.claims.loc[batch.claims["med_type"].isin(["51", "52"]), "psn_no"]
    assert (persons.set_index("psn_no").loc[mothers, "gender"] == "F").all()


def test_institutions(batch) -> None:  # type: ignore[no-untyped-def]
    inst = batch.institutions
    assert 50 <= len(inst) <= 200
    assert set(inst["level"]) == {1, 2, 3, 4}
    assert inst["institution_id"].str.fullmatch(r"H41\d{4}").all()
    assert (inst["agreement"] == "suspended").any() and (~inst["networked"]).any()
    level4 = inst[inst["level"] == 4]
    assert level4["out_of_area"].mean() > 0.5
    assert inst["name"].str.contains("卫生院").any()


def test_planted_situations(batch) -> None:  # type: ignore[no-untyped-def]
    claims, filings, inst = batch.claims, batch.filings, batch.institutions.set_index("institution_id")
    real = claims[claims["kind"] == "claim"]
    inpatient = real[real["med_type"] == "21"]
    away = inpatient[inst.loc[inpatient["institution_id"], "out_of_area"].to_numpy()]
    referred = set(filings.loc[filings["kind"] == "referral", "psn_no"])
    assert away["psn_no"].isin(referred).any() and (~away["psn_no"].isin(referred)).any()
    emergency = filings[filings["referral_kind"] == "emergency"]
    admitted = away.set_index("psn_no")["admit_date"]
    first_admission = admitted.groupby(level=0).min().reindex(emergency["psn_no"]).to_numpy()
    lag = pd.to_timedelta(emergency["filed_date"].to_numpy() - first_admission)
    assert (lag.days > 5).any()  # filed more than five calendar days after admission
    before_national_day = away["admit_date"].between(f"{YEAR}-09-27", f"{YEAR}-09-30")
    assert before_national_day.any()
    trauma = real[real["trauma"].fillna(False)]
    filed = set(filings.loc[filings["kind"] == "trauma", "psn_no"])
    assert trauma["psn_no"].isin(filed).any() and (~trauma["psn_no"].isin(filed)).any()
    residents = set(batch.persons.loc[batch.persons["insutype"] == "390", "psn_no"])
    outpatient = real[(real["med_type"] == "11") & real["psn_no"].isin(residents)]
    assert (inst.loc[outpatient["institution_id"], "level"].to_numpy() >= 2).any()
    manual = real[real["settlement_mode"] == "manual"]
    assert (~inst.loc[manual["institution_id"], "networked"].to_numpy()).any()
    full = {"11": 4, "14": 4, "21": 4}
    counts = manual["materials"].str.count(";") + 1
    assert (counts < manual["med_type"].map(full).fillna(0)).any()
    assert inpatient["psn_no"].duplicated().any()  # repeated admissions


def test_chronic_claims_and_certifications(batch) -> None:  # type: ignore[no-untyped-def]
    tariff = resolve(f"sample-county@{YEAR}").tariff
    codes = {d.code for d in tariff.chronic.diseases}
    certs = batch.certifications
    assert set(certs["disease"]) <= codes and len(set(certs["disease"])) >= 5
    assert ((certs["valid_to"] - certs["valid_from"]).dt.days.between(729, 731)).all()
    chronic = batch.claims[batch.claims["med_type"] == "14"]
    first = chronic["diagnoses"].str.split(";").str[0]
    assert first.map(lambda d: tariff.chronic.disease_for(d) is not None).all()
    certified = chronic["psn_no"].isin(set(certs["psn_no"]))
    assert certified.mean() > 0.7 and (~certified).any()


def test_lines(batch, catalogue) -> None:  # type: ignore[no-untyped-def]
    lines, claims = batch.lines, batch.claims
    assert lines["med_list_codg"].isin(set(catalogue["code"])).all()
    assert not lines[["mdtrt_id", "line_id"]].duplicated().any()
    assert lines["line_id"].str.fullmatch(r"\d{2,}").all()
    assert set(lines["mdtrt_id"]) == set(claims.loc[claims["kind"] == "claim", "mdtrt_id"])
    per_claim = lines.groupby("mdtrt_id").size()
    med_type = claims.set_index("mdtrt_id")["med_type"]
    assert 15 <= per_claim[med_type.reindex(per_claim.index) == "21"].mean() <= 30
    assert per_claim[med_type.reindex(per_claim.index) == "11"].median() in range(2, 7)
    given = lines.dropna(subset=["det_item_fee_sumamt"])
    fen = np.rint(given["pric"] * 100).astype(np.int64) * np.rint(given["cnt"] * 1000).astype(np.int64)
    declared = np.rint(given["det_item_fee_sumamt"] * 100).astype(np.int64)
    assert (declared == (fen + 500) // 1000).all()  # pric × cnt, half-up to the fen
    cap = catalogue.set_index("code")["price_cap_fen"].reindex(lines["med_list_codg"]).to_numpy()
    over = lines["pric"].to_numpy() * 100 > cap + 0.5
    assert 0.01 < over.mean() < 0.10


def _violations(batch, catalogue: pd.DataFrame) -> dict[str, pd.Series]:  # type: ignore[no-untyped-def]
    """Each audit edit of docs/tariffs.md evaluated directly on the tables."""
    lines = batch.lines.reset_index(drop=True)
    claims = batch.claims.set_index("mdtrt_id")
    c = claims.reindex(lines["mdtrt_id"])
    person = batch.persons.set_index("psn_no").reindex(c["psn_no"])
    level = batch.institutions.set_index("institution_id")["level"].reindex(c["institution_id"]).to_numpy()
    item = catalogue.set_index("code").reindex(lines["med_list_codg"])
    audited = item["level"].isin(["01", "02"]).to_numpy()
    admit = c["admit_date"].to_numpy()
    birth = person["birth_date"].to_numpy()
    age = np.array([a.year - b.year - ((a.month, a.day) < (b.month, b.day))
                    for a, b in zip(pd.DatetimeIndex(admit), pd.DatetimeIndex(birth))])
    inpatient = c["med_type"].isin(["21", "52"]).to_numpy()

    def indicated(indications: str, diagnoses: str) -> bool:
        for pattern in indications.split(";"):
            for dx in diagnoses.split(";"):
                if "-" in pattern and pattern.split("-")[0] <= dx[:3] <= pattern.split("-")[1]:
                    return True
                if "-" not in pattern and dx.startswith(pattern):
                    return True
        return False

    limited = (item["indications"] != "").to_numpy()
    ok = np.array([not lim or indicated(i, d)
                   for lim, i, d in zip(limited, item["indications"], c["diagnoses"])])
    milli = lines.assign(milli=np.rint(lines["cnt"] * 1000))
    per_day = milli.groupby(["mdtrt_id", "med_list_codg", "service_date"])["milli"].transform("sum").to_numpy()
    stay = np.maximum((c["discharge_date"] - c["admit_date"]).dt.days.to_numpy(), 1)
    bed = (item["kind"] == "bed").to_numpy()
    bed_days = lines.assign(b=np.where(bed, lines["cnt"], 0)).groupby("mdtrt_id")["b"].transform("sum").to_numpy()
    gender = item["gender"].to_numpy()
    return {
        "GENDER": pd.Series(audited & (gender != "") & (gender != person["gender"].to_numpy())),
        "AGE": pd.Series(audited & ((age < item["age_from"].to_numpy()) | (age >= item["age_below"].to_numpy()))),
        "LEVEL": pd.Series(audited & (level < item["min_level"].to_numpy())),
        "SETTING": pd.Series(audited & item["inpatient_only"].to_numpy() & ~inpatient),
        "INDICATION": pd.Series(audited & ~ok),
        "QTY_DAY": pd.Series(audited & (per_day > item["max_per_day_milli"].to_numpy())),
        "BED_DAYS": pd.Series(audited & bed & inpatient & (bed_days > stay)),
    }


def test_some_lines_break_each_audit_edit(batch, catalogue) -> None:  # type: ignore[no-untyped-def]
    found = _violations(batch, catalogue)
    for code, hits in found.items():
        assert hits.any(), code
    whole_line = np.logical_or.reduce([found[k].to_numpy()
                                       for k in ("GENDER", "AGE", "LEVEL", "SETTING", "INDICATION")])
    assert 0.003 < whole_line.mean() < 0.03
    assert 0.005 < np.logical_or.reduce([v.to_numpy() for v in found.values()]).mean() < 0.15
