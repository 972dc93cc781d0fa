"""The batch tables: their columns, types and how lists are stored.

`yibao synth` writes these tables, `yibao score` reads them, and a what-if case becomes a batch of
one in the same layout, so a single pipeline serves every entry point. Column names follow the
case contract (docs/cases.md). Lists inside a cell (diagnoses, materials, per-disease accumulators)
are `;`-separated strings, so CSV and Parquet hold the same thing and a spreadsheet can edit it.
Dates are ISO `YYYY-MM-DD`; money is yuan with at most two decimals; booleans are true/false.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColType = Literal["str", "date", "int", "yuan", "bool", "float", "list"]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColType
    required: bool = True  # a required column must exist and (unless `nullable`) have a value
    nullable: bool = False
    choices: tuple[str, ...] = ()
    doc: str = ""


def C(name: str, type: ColType, *, required: bool = True, nullable: bool = False,  # noqa: N802
      choices: tuple[str, ...] = (), doc: str = "") -> Column:
    return Column(name, type, required, nullable, choices, doc)


OPT = {"required": False, "nullable": True}

TABLES: dict[str, tuple[Column, ...]] = {
    "persons": (
        C("psn_no", "str", doc="person number"),
        C("gender", "str", choices=("F", "M")),
        C("birth_date", "date"),
        C("insutype", "str", choices=("310", "390"), doc="310 employee, 390 resident"),
        C("employee_status", "str", **OPT, choices=("in_service", "retired", ""),
          doc="employees only"),
        C("waiting_period_until", "date", **OPT, doc="last day without benefits"),
        C("maternity_contribution_months", "int", **OPT),
        C("employer_avg_monthly_wage", "yuan", **OPT, doc="previous year, for the allowance"),
        C("left_employment_date", "date", **OPT),
        C("spouse_of_insured_male_employee", "bool", **OPT),
        C("region", "str", **OPT, doc="pooling region (统筹区): the id of the tariff the person's claims "
                                       "are scored under; empty: `score --tariff`"),
        C("resident_category", "str", **OPT, doc="residents: a category of the tariff's resident_categories "
                                                  "(居民类别, e.g. student); empty: by age"),
    ),
    "enrolments": (  # optional table: a person without rows is insured throughout
        C("psn_no", "str"),
        C("valid_from", "date"),
        C("valid_to", "date", nullable=True),
    ),
    "statuses": (
        C("psn_no", "str"),
        C("kind", "str", choices=("tekun", "dibao", "low_income", "relapse_monitored",
                                  "retired_cadre", "priority_care")),
        C("valid_from", "date"),
        C("valid_to", "date", nullable=True),
    ),
    "certifications": (
        C("psn_no", "str"),
        C("disease", "str", doc="chronic-disease code of the tariff"),
        C("valid_from", "date"),
        C("valid_to", "date", nullable=True),
    ),
    "filings": (
        C("psn_no", "str"),
        C("kind", "str", choices=("referral", "remote_residence", "trauma")),
        C("referral_kind", "str", **OPT, choices=("emergency", "chemo", "normal", "")),
        C("filed_date", "date", **OPT),
        C("target_institution", "str", **OPT),
        C("materials", "list", **OPT),
        C("valid_from", "date", **OPT, doc="remote residence"),
        C("valid_to", "date", **OPT, doc="remote residence"),
        C("third_party_liable", "bool", **OPT, doc="trauma finding"),
        C("mdtrt_id", "str", **OPT, doc="trauma: the claim it is for (empty: any of the person's)"),
    ),
    "institutions": (
        C("institution_id", "str"),
        C("name", "str", **OPT),
        C("kind", "str", **OPT, choices=("hospital", "pharmacy", "")),
        C("level", "int", choices=("1", "2", "3", "4")),
        C("out_of_area", "bool"),
        C("networked", "bool"),
        C("agreement", "str", choices=("active", "suspended")),
    ),
    "claims": (
        C("mdtrt_id", "str"),
        C("psn_no", "str"),
        C("kind", "str", choices=("claim", "chronic_application", "referral_application",
                                  "assistance_application", "maternity_application")),
        C("med_type", "str", **OPT, choices=("11", "14", "21", "51", "52", "")),
        C("institution_id", "str", **OPT),
        C("admit_date", "date", **OPT),
        C("discharge_date", "date", **OPT),
        C("diagnoses", "list", **OPT),
        C("settlement_mode", "str", **OPT, choices=("direct", "manual", "")),
        C("submitted_date", "date", **OPT),
        C("materials", "list", **OPT),
        C("trauma", "bool", **OPT),
        C("referral_kind", "str", **OPT, choices=("emergency", "chemo", "normal", ""),
          doc="referral applications"),
        C("maternity_item", "str", **OPT, choices=("prenatal", "delivery", "iud_insertion",
                                                   "iud_removal", "abortion", "induction",
                                                   "miscarriage", "")),
        C("delivery", "str", **OPT, choices=("vaginal", "assisted", "caesarean", "")),
        C("infants", "int", **OPT),
        C("pregnancy_weeks", "int", **OPT),
        C("correction_of", "str", **OPT,
          doc="the mdtrt_id of an earlier claim this one corrects (the ledger reverses that one)"),
        C("region", "str", **OPT, doc="pooling region of this claim; empty: its person's"),
    ),
    "lines": (
        C("mdtrt_id", "str"),
        C("line_id", "str"),
        C("med_list_codg", "str"),
        C("service_date", "date"),
        C("pric", "yuan"),
        C("cnt", "float", doc="quantity, at most three decimals"),
        C("det_item_fee_sumamt", "yuan", **OPT, doc="line amount; empty: pric × cnt"),
        C("chrgitm_lv", "str", **OPT, choices=("01", "02", "03", ""), doc="overrides the catalogue"),
        C("selfpay_prop", "float", **OPT, doc="overrides the catalogue"),
        C("pric_uplmt_amt", "yuan", **OPT, doc="overrides the catalogue"),
    ),
    "accumulators": (  # optional input (--accumulators) and an output of scoring
        C("psn_no", "str"),
        C("year", "int"),
        C("hifp_paid", "yuan", **OPT),
        C("inpatient_admissions", "int", **OPT),
        C("outpatient_deductible_used", "yuan", **OPT),
        C("chronic_deductible_used", "yuan", **OPT, doc="with chronic.deductible_scope: annual"),
        C("outpatient_paid", "yuan", **OPT),
        C("catastrophic_base", "yuan", **OPT),
        C("catastrophic_paid", "yuan", **OPT),
        C("maf_deductible_used", "yuan", **OPT),
        C("maf_paid", "yuan", **OPT),
        C("prenatal_paid", "yuan", **OPT),
        C("outpatient_covered", "yuan", **OPT, doc="with outpatient covered_cap"),
        C("chronic_covered", "yuan", **OPT, doc="with chronic.covered_cap"),
        C("chronic_paid", "list", **OPT, doc="DISEASE=yuan;… e.g. E11=2950.00"),
        C("large_amount_base", "yuan", **OPT, doc="大额 beside 大病: its accumulated base"),
        C("large_amount_paid", "yuan", **OPT, doc="大额 beside 大病: its payments"),
        C("maf_stage2_deductible_used", "yuan", **OPT, doc="the second assistance stage's deductible used"),
        C("maf_stage2_paid", "yuan", **OPT, doc="the second assistance stage's payments (within maf_paid)"),
        # what scoring writes beside the above, so that its accumulators file carries a person
        # into the next batch whole (a month's amount counts only in its month)
        C("inpatient_deductible_used", "yuan", **OPT, doc="with inpatient.deductible_scope: annual"),
        C("inpatient_covered", "yuan", **OPT, doc="with inpatient.cap_basis: covered"),
        C("outpatient_month", "int", **OPT, doc="month of outpatient_month_paid: months since 1970-01, -1 none"),
        C("outpatient_month_paid", "yuan", **OPT, doc="paid in that month under a monthly_cap"),
        C("outpatient_covered_month", "int", **OPT, doc="month of outpatient_covered_in_month"),
        C("outpatient_covered_in_month", "yuan", **OPT, doc="covered fees that month under covered_cap.monthly"),
        C("chronic_covered_month", "int", **OPT, doc="month of chronic_covered_in_month"),
        C("chronic_covered_in_month", "yuan", **OPT, doc="covered fees that month under chronic.covered_cap.monthly"),
        C("rejected", "str", **OPT, doc="why a batch rejected the row: carried until corrected and emptied"),
    ),
}

INPUT_TABLES = ("persons", "statuses", "certifications", "filings", "institutions", "claims", "lines")
OPTIONAL_TABLES = ("enrolments", "accumulators")
LIST_SEP = ";"
PERSONAL = frozenset({"psn_no", "birth_date", "name", "certno", "employer_avg_monthly_wage"})
"""Fields that identify a person, name someone, or tell their income: a message or a reason names
their row and column, never what they hold, since rejects and messages are passed around."""


def amount_items(text: str) -> list[tuple[str, str]]:
    """The (code, amount) texts of a `CODE=yuan;…` cell (`accumulators.chronic_paid`), spaces
    around each dropped: one reading of the cell for the reader that checks it, the scan that
    adds it up and the decision that shows it. An item without "=" has an empty amount."""
    return [(code.strip(), amount.strip()) for code, _, amount in
            (part.partition("=") for part in text.split(LIST_SEP) if part.strip())]
