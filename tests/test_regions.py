"""Many pooling regions in one batch (issue 16 part 2): each claim is scored under its own
region's tariff, exactly as if its region's claims were scored alone; an unknown region rejects
its claims and their lines with the reason, and nothing is lost."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import AMOUNT_FIELDS
from yibao.errors import InputError
from yibao.io import load_batch
from yibao.pipeline import assign_tariffs, score_batch
from yibao.simulation.simulation import simulate_batch
from yibao.synth import generate
from yibao.tariffs.registry import BUNDLED

OTHER = "other-county"
DEDUCTIBLE = "- {insutype: \"390\", level: 2, deductible: 500,"


@pytest.fixture(scope="module")
def search_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding `other-county`: the sample tariff with a county-hospital deductible of
    900 instead of 500 for residents."""
    root = tmp_path_factory.mktemp("tariffs")
    folder = root / OTHER
    shutil.copytree(BUNDLED / "sample-county", folder)
    for name in ("2024.yaml", "2025.yaml"):
        text = (folder / name).read_text(encoding="utf-8")
        assert text.count(DEDUCTIBLE) == 1 and text.count("sample-county\n") == 2
        text = text.replace("sample-county\n", f"{OTHER}\n").replace(DEDUCTIBLE, DEDUCTIBLE.replace("500", "900"))
        (folder / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def on_path(search_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAO_TARIFF_PATH", str(search_path))


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate(claims=120, seed=16)


def _of_persons(tables: dict[str, pd.DataFrame], persons: set[str]) -> dict[str, pd.DataFrame]:
    """The tables of these persons only (their claims, lines, statuses …; every institution)."""
    out = {name: (t if "psn_no" not in t else t[t["psn_no"].isin(persons)]).reset_index(drop=True)
           for name, t in tables.items()}
    out["lines"] = tables["lines"][tables["lines"]["mdtrt_id"].isin(out["claims"]["mdtrt_id"])].reset_index(drop=True)
    return out


def _score(tables: dict[str, pd.DataFrame], tariff: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    batch, rejects = load_batch(tables)
    result = score_batch(batch, rejects, tariff=tariff)
    return result.claims.set_index("mdtrt_id"), result.rejects


def _split(tables: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], set[str], set[str], set[str]]:
    """Every other person in `other-county` (by the persons table); a third of the rest carry
    `sample-county` on their claims, one person an unknown region on their claims."""
    psn = tables["persons"]["psn_no"].tolist()
    other, rest = set(psn[::2]), psn[1::2]
    unknown = {rest[0]}
    named = set(rest[1::3])
    persons = tables["persons"].assign(region=np.where(tables["persons"]["psn_no"].isin(other), OTHER, ""))
    claims = tables["claims"]
    region = np.select([claims["psn_no"].isin(unknown), claims["psn_no"].isin(named)],
                       ["no-such-county", "sample-county"], "")
    return {**tables, "persons": persons, "claims": claims.assign(region=region)}, other, unknown, named


def test_each_claim_scored_under_its_own_region(tables: dict[str, pd.DataFrame], on_path: None) -> None:
    mixed, other, unknown, _ = _split(tables)
    scored, _ = _score(mixed)
    home = set(tables["persons"]["psn_no"]) - other - unknown
    alone_other, _ = _score(_of_persons(tables, other), OTHER)
    alone_home, _ = _score(_of_persons(tables, home))
    assert len(alone_other) and len(alone_home)
    assert set(scored.index) == set(alone_other.index) | set(alone_home.index)
    for alone, tariff in ((alone_other, OTHER), (alone_home, "sample-county")):
        part = scored.loc[alone.index]
        assert part["tariff"].str.startswith(tariff + "@").all()
        for field in AMOUNT_FIELDS:
            assert part[field].tolist() == alone[field].tolist(), field
    # the two tariffs differ on these claims: scoring them under the other one changes amounts
    as_home, _ = _score(_of_persons(tables, other))
    assert (as_home["fund_pay_sumamt"] != alone_other.loc[as_home.index, "fund_pay_sumamt"]).any()


def test_unknown_region_rejected_with_its_lines(tables: dict[str, pd.DataFrame], on_path: None) -> None:
    mixed, _, unknown, _ = _split(tables)
    scored, rejects = _score(mixed)
    lost = tables["claims"][tables["claims"]["psn_no"].isin(unknown)]["mdtrt_id"]
    assert len(lost) and not scored.index.isin(lost).any()
    claim_rejects = rejects[rejects["table"] == "claims"]
    assert set(claim_rejects["key"]) == set(lost)
    assert (claim_rejects["column"] == "region").all()
    assert claim_rejects["reason"].str.contains("unknown pooling region 'no-such-county' in column region").all()
    lines = tables["lines"][tables["lines"]["mdtrt_id"].isin(lost)]
    line_rejects = rejects[rejects["table"] == "lines"]
    assert set(line_rejects["key"]) == set(lines["mdtrt_id"] + "/" + lines["line_id"])
    assert line_rejects["reason"].str.startswith("its claim was not scored: unknown pooling region").all()


def test_unknown_region_of_a_person_named_as_such(tables: dict[str, pd.DataFrame], on_path: None) -> None:
    mixed, other, _, _ = _split(tables)
    persons = mixed["persons"].assign(region=mixed["persons"]["region"].replace(OTHER, "atlantis"))
    scored, rejects = _score({**mixed, "persons": persons})
    lost = set(tables["claims"][tables["claims"]["psn_no"].isin(other)]["mdtrt_id"])
    claim_rejects = rejects[rejects["key"].isin(lost)]
    assert len(claim_rejects) == len(lost) and not scored.index.isin(lost).any()
    assert (claim_rejects["column"] == "").all()
    assert claim_rejects["reason"].str.startswith("unknown pooling region 'atlantis' in the person's region").all()


def test_claim_region_wins_over_person(tables: dict[str, pd.DataFrame], on_path: None) -> None:
    mixed, other, _, _ = _split(tables)
    claims = mixed["claims"].copy()
    theirs = claims["psn_no"].isin(other)
    claims.loc[theirs, "region"] = "sample-county"
    keys, _, _ = assign_tariffs(claims, None, mixed["persons"])
    assert all(k.startswith("sample-county@") for k in keys[theirs.to_numpy()] if k)
    keys, _, _ = assign_tariffs(claims.assign(region=""), None, mixed["persons"])
    assert all(k.startswith(OTHER + "@") for k in keys[theirs.to_numpy()] if k)


def test_tariff_option_is_the_default_region(tables: dict[str, pd.DataFrame], on_path: None) -> None:
    """`--tariff other-county` serves claims without a region; claims naming a region keep it."""
    mixed, other, unknown, named = _split(tables)
    keys, _, _ = assign_tariffs(mixed["claims"], OTHER, mixed["persons"])
    psn = mixed["claims"]["psn_no"]
    plain = ~psn.isin(other | unknown | named)
    assert all(k.startswith(OTHER + "@") for k in keys[plain.to_numpy()] if k)
    assert all(k.startswith("sample-county@") for k in keys[psn.isin(named).to_numpy()] if k)


def test_simulate_refuses_a_second_region(tables: dict[str, pd.DataFrame], on_path: None) -> None:
    mixed, *_ = _split(tables)
    batch, rejects = load_batch({**mixed, "claims": mixed["claims"].assign(region="")})
    with pytest.raises(InputError, match=f"one pooling region: the batch also holds region {OTHER} "):
        simulate_batch(batch, rejects, edits=["assistance.annual_cap=70000"])


def test_regions_off_the_search_path(tables: dict[str, pd.DataFrame], search_path: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`yibao.score(tariff=[default, folder])` and `score --tariff A --tariff FOLDER`: a region's
    folder given with the batch scores its claims as the same folder on the search path does."""
    import yibao
    from conftest import run_cli

    mixed, other, unknown, _ = _split(tables)
    on_path_claims, _ = _score_on_path(mixed, search_path)
    folder = search_path / OTHER
    result = yibao.score(mixed, tariff=["sample-county", folder])
    got = result.claims.set_index("mdtrt_id")
    assert got.index.equals(on_path_claims.index)
    for field in AMOUNT_FIELDS:
        assert got[field].tolist() == on_path_claims[field].tolist(), field
    assert got.loc[got.index.isin(tables["claims"][tables["claims"]["psn_no"].isin(other)]["mdtrt_id"]),
                   "tariff"].str.startswith(OTHER + "@").all()
    batch_dir = tmp_path / "batch"
    batch_dir.mkdir()
    for name, frame in mixed.items():
        frame.to_parquet(batch_dir / f"{name}.parquet")
    code, output = run_cli(["score", str(batch_dir), "--out", str(tmp_path / "out"), "-q",
                            "--tariff", "sample-county", "--tariff", str(folder)], capsys, monkeypatch)
    assert code == 0, output
    cli = pd.read_parquet(tmp_path / "out" / "claims.parquet").set_index("mdtrt_id")
    assert cli["fund_pay_sumamt"].tolist() == got["fund_pay_sumamt"].tolist()
    # one region twice, and a region's folder with the ledger: refused in one line
    code, output = run_cli(["score", str(batch_dir), "--out", str(tmp_path / "o2"), "-q",
                            "--tariff", str(folder), "--tariff", str(folder)], capsys, monkeypatch)
    assert code == 2 and f"--tariff names region {OTHER} twice" in output
    with pytest.raises(InputError, match="the ledger records the tariff by id"):
        yibao.score(mixed, tariff=["sample-county", folder], ledger=tmp_path / "l.db")
    assert not (tmp_path / "l.db").exists()


def _score_on_path(tables: dict[str, pd.DataFrame], search_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("YIBAO_TARIFF_PATH", str(search_path))
        return _score(tables)


@pytest.mark.parametrize("specs, message", [
    (["sample-county", "nope"], r"unknown tariff 'nope' \(known: "),
    (["sample-county", "sample-county@1999"], "tariff 'sample-county' has no version '1999'"),
])
def test_a_tariff_of_another_region_that_is_not_there_is_refused(specs: list[str], message: str) -> None:
    """Accepted, it served no claim of this batch, and would have refused the claims of its region
    only once they came, one by one."""
    from yibao.pipeline import tariff_set

    with pytest.raises(InputError, match=message):
        tariff_set(specs)


def test_a_period_without_a_ledger_is_refused(tables: dict[str, pd.DataFrame]) -> None:
    """The command line refuses it; the library ignored it without a word."""
    import yibao

    with pytest.raises(InputError, match="period places a batch in the ledger"):
        yibao.score(tables, period="2025-13")
