"""The documentation stands alone: it cites only the repository's own files, and the case
contract's example is a case yibao decides."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from conftest import decide

ROOT = Path(__file__).parent.parent
# documents the project started from, which live outside the repository
OUTSIDE = re.compile(r"CASES\.md|DOMAIN\.md|REFERENCE_TARIFF\.md|\bseed 00\d|\.\./shared|/work/shared")


def _tracked() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / n for n in names.split() if n.endswith((".py", ".md", ".yaml", ".toml"))]


def test_nothing_cites_a_document_outside_the_repository() -> None:
    hits = [f"{path.relative_to(ROOT)}:{n}" for path in _tracked() if path.exists() and path != Path(__file__)
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if OUTSIDE.search(line)]
    assert hits == []


def test_links_between_docs_point_at_files_that_exist() -> None:
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)\)", doc.read_text(encoding="utf-8")):
            assert (doc.parent / target).exists(), f"{doc.name}: {target}"


def test_the_case_contract_example_is_decided() -> None:
    text = (ROOT / "docs" / "cases.md").read_text(encoding="utf-8")
    case = json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))
    obj = decide(case)
    assert obj["decision"] == "approved"
    assert round(obj["fund_pay_sumamt"] + obj["psn_part_amt"] + obj["hosp_part_amt"], 2) == obj["medfee_sumamt"]
