"""A plain row-by-row implementation of the calculator, for two jobs.

1. The benchmark's baseline: what a straightforward Python loop over claims and lines costs, in
   the same run as the vectorized calculator.
2. An independent route for tests: it reads the tariff model directly (not `terms.py`) and uses
   Python integers and Fraction arithmetic one claim at a time, so agreement with the
   vectorized calculator on synthetic batches is evidence, not tautology.

It covers the same arithmetic: audit edits, catalogue split, deductibles, bands, caps, tiers
(both tier funds of a person, each on its base), assistance (in stages), maternity quotas, and
who bears what. It takes the rule conclusions as given.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from fractions import Fraction
from typing import Any, Callable

import numpy as np
import pandas as pd

from yibao.tariffs.model import Band, Tariff


def R(x: Fraction) -> int:
    """Round half-up to the integer (fen)."""
    return int((x * 2 + 1) // 2)


def fen(yuan: Any) -> int:
    return int(round(float(yuan) * 100))


def ratio(r: Any) -> Fraction:
    return Fraction(str(r))


def band_pay(lo: int, hi: int, bands: list[Band], shift: Fraction = Fraction(0)) -> Fraction:
    total, lower = Fraction(0), 0
    for b in bands:
        upper = 10**18 if b.upto is None else fen(b.upto)
        part = min(hi, upper) - max(lo, lower)
        if part > 0:
            total += part * min(max(ratio(b.ratio) + shift, Fraction(0)), Fraction(1))
        lower = upper
    return total


def day(v: Any) -> dt.date | None:
    """A date as `datetime.date` (None when missing), whatever the caller holds: a date, a pandas
    Timestamp, a numpy datetime64 or ISO text (comparing a Timestamp with a date raises)."""
    if type(v) is dt.date:  # the common case first: this runs for every line
        return v
    if missing(v):
        return None
    if isinstance(v, dt.datetime):  # pandas Timestamps too
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        return dt.date.fromisoformat(v[:10]) if v else None
    return pd.Timestamp(v).date()


def missing(v: Any) -> bool:
    """None, NaN or pandas' NA/NaT: an empty cell."""
    return (v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)
            or (isinstance(v, np.datetime64) and bool(np.isnat(v))))


def age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def dx_match(patterns: str, diagnoses: list[str]) -> bool:
    for p in filter(None, patterns.split(";")):
        if "-" in p:
            lo, hi = p.split("-")
            if any(lo <= d[:3] <= hi for d in diagnoses):
                return True
        elif any(d.startswith(p) for d in diagnoses):
            return True
    return False


def split_lines(claim: dict, lines: list[dict], t: Tariff, catalogue: dict[str, list[dict]]) -> tuple[list, list]:
    """Per line (violation fen, codes, audited split, declared split). Dates may be dates,
    Timestamps or ISO text; `catalogue` holds per code its rows, whose `valid_from`/`valid_to`
    are dates (see score_rows)."""
    inpatient = claim["med_type"] in ("21", "52")
    admit, discharge = day(claim["admit_date"]), day(claim["discharge_date"])
    stay = max((discharge - admit).days, 1) if admit and discharge else 1
    info = []
    for ln in lines:
        served = day(ln["service_date"])
        item = next((row for row in catalogue.get(ln["med_list_codg"], ())
                     if row["valid_from"] <= served <= row["valid_to"]), None)  # the row in force that day
        level = ln["chrgitm_lv"] or (item["level"] if item else "03")
        milli = round(ln["cnt"] * 1000)
        pric = fen(ln["pric"])
        amount = fen(ln["det_item_fee_sumamt"]) if not missing(ln["det_item_fee_sumamt"]) \
            else R(Fraction(pric * milli, 1000))
        whole = None
        if item and level in ("01", "02"):
            a = age(day(claim["birth_date"]), served)
            checks = [("GENDER", item["gender"] and item["gender"] != claim["gender"]),
                      ("AGE", not item["age_from"] <= a < item["age_below"]),
                      ("LEVEL", claim["level"] < item["min_level"]),
                      ("SETTING", item["inpatient_only"] and not inpatient),
                      ("INDICATION", item["indications"] and not dx_match(item["indications"], claim["diagnoses"]))]
            whole = next((code for code, hit in checks if hit), None)
        info.append(dict(ln=ln, item=item, level=level, milli=milli, pric=pric, amount=amount, whole=whole,
                         qty=0, bed=0))
    checked = [i for i in info if i["item"] and i["level"] in ("01", "02") and not i["whole"]]
    day_groups: dict[tuple, list] = defaultdict(list)
    for i in checked:
        day_groups[(i["ln"]["med_list_codg"], i["ln"]["service_date"])].append(i)
    for group in day_groups.values():
        excess = sum(i["milli"] for i in group) - group[0]["item"]["max_per_day_milli"]
        for i in sorted(group, key=lambda i: i["ln"]["line_id"], reverse=True):
            take = max(min(excess, i["milli"]), 0)
            i["qty"], excess = take, excess - take
    beds = sorted((i for i in checked if i["item"]["kind"] == "bed"),
                  key=lambda i: (i["ln"]["service_date"], i["ln"]["line_id"]), reverse=True)
    excess = sum(i["milli"] - i["qty"] for i in beds) - stay * 1000
    for i in beds:
        take = max(min(excess, i["milli"] - i["qty"]), 0)
        i["bed"], excess = take, excess - take

    def split(i: dict, viol_qty: int, viol_amt: int) -> dict:
        rest, rest_qty = i["amount"] - viol_amt, i["milli"] - viol_qty
        listed = i["item"] is not None or bool(i["ln"]["chrgitm_lv"])
        if not listed or i["level"] == "03":
            return dict(full=rest, over=0, pre=0, inscp=0, own=0, direct=0)
        cap = fen(i["ln"]["pric_uplmt_amt"]) if not missing(i["ln"]["pric_uplmt_amt"]) else \
            (i["item"]["price_cap_fen"] if i["item"] else None)
        over = min(R(Fraction(max(i["pric"] - cap, 0) * rest_qty, 1000)), rest) if cap is not None else 0
        base = rest - over
        if i["item"] and i["item"]["person_share_bp"] >= 0:  # a fixed person share, the fund the rest
            own = R(base * Fraction(i["item"]["person_share_bp"], 10000))
            return dict(full=0, over=over, pre=0, inscp=base, own=own, direct=base - own)
        pre = 0
        if i["level"] == "02" and not claim["waive_preselfpay"]:
            if not missing(i["ln"]["selfpay_prop"]):
                share = ratio(i["ln"]["selfpay_prop"])
            elif i["item"] and not missing(i["item"]["selfpay_bp"]):
                share = Fraction(i["item"]["selfpay_bp"], 10000)
            else:
                share = ratio(t.preselfpay_by_kind.get(i["item"]["kind"], 0)) if i["item"] else Fraction(0)
            pre = R(base * share)
        return dict(full=0, over=over, pre=pre, inscp=base - pre, own=0, direct=0)

    audited, declared = [], []
    for i in info:
        if i["whole"]:
            vq, va = i["milli"], i["amount"]
        else:
            vq = i["qty"] + i["bed"]
            va = R(Fraction(i["amount"] * vq, i["milli"]))
        audited.append(dict(split(i, vq, va), viol=va, amount=i["amount"]))
        declared.append(dict(split(i, 0, 0), viol=0, amount=i["amount"]))
    return audited, declared


def fees_for(pay: Callable[[int], Fraction], target: int, most: int) -> int:
    """The smallest fee x in [0, most] on which `pay(x)` reaches `target` (bisection)."""
    lo, hi = 0, most
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if pay(mid) >= target else (mid + 1, hi)
    return lo


def pay_claim(c: dict, inscp: int, t: Tariff, acc: dict, commit: bool, shares: tuple[int, int] = (0, 0)) -> dict:
    """Funds of one claim given the person-year's accumulators (updated when `commit`). `shares`:
    of `inscp`, the person's and the fund's parts of fixed-share items: they skip the deductible and
    the bands; the fund's part joins the basic fund inside its limits or outside them."""
    out = dict(ded=0, basic=0, hifmi=0, hifob=0, maf=0)
    above_cap = 0  # in-policy fees above the deductible beyond where the annual cap stopped the basic fund
    pool = c["fund_pool"] if c["pays_basic"] else ""
    if not pool:
        return out
    total, (own, direct) = inscp, shares
    inscp = total - own - direct  # below, until the catastrophic burden: what the bands see
    inside = direct if t.item_shares.within_caps else 0
    key_med = {"inpatient": "21", "outpatient": "11", "chronic": "14"}.get(pool, "")
    if pool == "inpatient":
        ip = t.inpatient
        scheme = ip.scheme(c["insutype"], c["employee_status"] or "any", c["level"])
        annual = ip.deductible_scope == "annual"  # one deductible a year: what is left of it
        factor = Fraction(1)
        if c["child_deductible"]:
            factor *= ratio(ip.child_deductible_factor)
        if acc["admissions"] > 0 and not annual:
            factor *= ratio(ip.repeat_admission_factor)
        bands, shift, capped = scheme.bands, Fraction(-c["ratio_cut_bp"] + c["status_tilt_bp"], 10000), True
        if c["retired_cadre"]:
            factor *= ratio(ip.retired_cadre.deductible_factor)
            bands, shift, capped = [Band(upto=None, ratio=ip.retired_cadre.ratio)], \
                Fraction(-c["ratio_cut_bp"], 10000), ip.retired_cadre.capped
        full = R(fen(scheme.deductible) * factor)
        ded = min(max(full - acc["ip_ded"], 0) if annual else full, inscp)
        cap = ip.annual_cap.get(c["insutype"]) if capped else None
        # bands measured on the gross in-policy amount, or on the part above the deductible
        lo, hi = (0, inscp - ded) if ip.band_basis == "above_deductible" else (ded, inscp)
        covered = 0
        if ip.cap_basis == "covered":  # the cap limits the in-policy amount the bands pay on
            span = hi - lo
            # with cap_counts_deductible the deductible borne is counted first
            counted = min(ded, max(fen(cap) - acc["covered"], 0)) if cap is not None else ded
            counted = counted if ip.cap_counts_deductible else 0
            if cap is not None:
                hi = min(hi, lo + max(fen(cap) - acc["covered"] - counted, 0))
            covered = max(hi - lo, 0) + counted
            above_cap = span - (hi - lo)
            basic = R(band_pay(lo, hi, bands, shift)) + inside
        else:  # the cap limits the fund's payments
            raw = R(band_pay(lo, hi, bands, shift)) + inside
            basic = max(min(raw, fen(cap) - acc["hifp"]), 0) if cap is not None else raw
            if basic < raw:
                above_cap = hi - lo - fees_for(lambda x: band_pay(lo, lo + x, bands, shift), max(basic - inside, 0),
                                               hi - lo)
        if commit:
            acc["hifp"] += basic
            acc["admissions"] += 1
            acc["ip_ded"] += ded
            acc["covered"] += covered
    elif pool == "outpatient":
        s = t.outpatient.scheme(c["insutype"], c["employee_status"] or "any")
        ded = min(max(fen(s.deductible) - acc["out_ded"], 0), inscp)
        settled = day(c["setl_date"])
        month = (settled.year, settled.month)  # a monthly cap counts the settlement month's payments
        base, above_cap = covered_base(inscp - ded, s.covered_cap, acc, "out", month, commit)
        raw = R(base * min(max(ratio(s.ratio_by_level[c["level"]]) +
                                        Fraction(c["status_tilt_bp"], 10000), Fraction(0)), Fraction(1))) + inside
        basic = max(min(raw, fen(s.annual_cap) - acc["out_paid"]), 0) if s.annual_cap is not None else raw
        month_paid = acc["month_paid"] if acc["month"] == month else 0
        annual_cut = basic < raw
        if s.monthly_cap is not None:
            annual_cut = annual_cut and basic <= fen(s.monthly_cap) - month_paid  # else the month's cap cut it
            basic = max(min(basic, fen(s.monthly_cap) - month_paid), 0)
        if annual_cut:
            r = min(max(ratio(s.ratio_by_level[c["level"]]) + Fraction(c["status_tilt_bp"], 10000), Fraction(0)),
                    Fraction(1))
            above_cap += base - fees_for(lambda x: x * r, max(basic - inside, 0), base)
        if commit:
            acc["out_ded"] += ded
            acc["out_paid"] += basic
            if s.monthly_cap is not None:
                acc["month"], acc["month_paid"] = month, month_paid + basic
    elif pool == "chronic":
        d = next(d for d in t.chronic.diseases if d.code == c["chronic_disease"])
        r = next(r.ratio for r in t.chronic.ratios if r.insutype == c["insutype"] and r.group == d.group)
        annual = t.chronic.deductible_scope == "annual"  # else per claim
        ded = min(max(fen(t.chronic.deductible) - acc["ch_ded"], 0) if annual else fen(t.chronic.deductible), inscp)
        settled = day(c["setl_date"])
        base, above_cap = covered_base(inscp - ded, t.chronic.covered_cap, acc, "ch", (settled.year, settled.month),
                                       commit)
        tilted = min(max(ratio(r) + Fraction(c["status_tilt_bp"], 10000), Fraction(0)), Fraction(1))
        raw = R(base * tilted) + inside
        basic = max(min(raw, fen(d.annual_cap) - acc["chronic"][d.code]), 0)
        if basic < raw:
            above_cap += base - fees_for(lambda x: x * tilted, max(basic - inside, 0), base)
        if commit:
            acc["chronic"][d.code] += basic
            acc["ch_ded"] += ded if annual else 0
    else:  # maternity
        quotas = t.maternity.quotas if c["maternity_scheme"] == "employee" else t.maternity.resident_quotas
        quota = R(fen(quotas[c["maternity_quota"]]) * Fraction(c["maternity_factor_bp"], 10000))
        ded = 0
        if c["maternity_quota"] == "prenatal":
            basic = max(min(inscp + inside, quota - acc["prenatal"]), 0)
            if commit:
                acc["prenatal"] += basic
        else:
            basic = min(inscp + inside, quota)
    inscp = total
    out.update(ded=ded, basic=basic + direct - inside)
    if key_med in t.catastrophic.burden_med_types:
        chosen = []  # the large-amount fund first, then the catastrophic one on what it left
        for kind in ("hifob", "hifmi"):
            funds = [f for f in t.catastrophic.funds if f.insutype == c["insutype"] and f.fund == kind]
            fund = next((f for f in funds if c["tier_status"] and c["tier_status"] in f.statuses),
                        next((f for f in funds if not f.statuses), None))
            if fund is not None:
                chosen.append(fund)
        for fund in chosen:
            # where the tariff has both kinds for the insurance type the large-amount one has its own
            # accumulators, whether or not the claim's status gets the catastrophic one; else cat_*
            kinds = {f.fund for f in t.catastrophic.funds if f.insutype == c["insutype"]}
            slot = "la" if fund.fund == "hifob" and "hifmi" in kinds else "cat"
            thr = fen(fund.threshold)

            def F(b: int) -> int:
                if fund.tier_basis == "above_threshold":
                    return R(band_pay(0, max(b - thr, 0), fund.tiers))
                return R(band_pay(thr, max(b, thr), fund.tiers))
            own = {"burden": inscp - out["basic"], "burden_after_deductible": max(inscp - out["basic"] - ded, 0),
                   "above_basic_cap": above_cap}[fund.base]
            base = max(own - out["hifmi"] - out["hifob"], 0)
            tier = F(acc[f"{slot}_base"] + base) - F(acc[f"{slot}_base"])
            if fund.annual_cap is not None:
                tier = max(min(tier, fen(fund.annual_cap) - acc[f"{slot}_paid"]), 0)
            out[fund.fund] += tier
            if commit:
                acc[f"{slot}_base"] += base
                acc[f"{slot}_paid"] += tier
    if c["pays_maf"] and key_med in t.assistance.med_types:
        st = next((s for s in t.assistance.statuses if s.status == c["assistance_status"]), None)
        if st is not None:
            base = inscp - out["basic"] - out["hifmi"] - out["hifob"]
            total_cap = t.assistance.annual_cap
            taken, paid = [], []  # per stage: deductible taken, paid
            for i, stage in enumerate(st.stages or [st]):  # each stage on what the one before left
                mded = min(base, max(fen(stage.deductible) - acc["maf_ded" if i == 0 else "maf2_ded"], 0))
                maf = R(band_pay(0, base - mded, stage.bands))
                if total_cap is not None:
                    maf = max(min(maf, fen(total_cap) - acc["maf_paid"] - sum(paid)), 0)
                own_cap = getattr(stage, "annual_cap", None)
                if own_cap is not None:
                    used = acc["maf_paid"] - acc["maf2_paid"] if i == 0 else acc["maf2_paid"]
                    maf = max(min(maf, fen(own_cap) - used), 0)
                taken.append(mded)
                paid.append(maf)
                base -= maf
            out["maf"] = sum(paid)
            if commit:
                acc["maf_ded"] += taken[0]
                acc["maf_paid"] += sum(paid)
                if len(paid) > 1:
                    acc["maf2_ded"] += taken[1]
                    acc["maf2_paid"] += paid[1]
    return out


def covered_base(above: int, cap: Any, acc: dict, pool: str, month: tuple[int, int],
                 commit: bool) -> tuple[int, int]:
    """The in-policy amount above the deductible the ratio applies to under a pool's covered-fee
    caps (per visit, calendar month, year), counted in the accumulators when `commit`; and what the
    year's cap cut off (when it left less than the visit's and the month's)."""
    if cap.per_visit is None and cap.monthly is None and cap.annual is None:
        return above, 0
    in_month = acc[pool + "_cov_month"] if acc[pool + "_cov_key"] == month else 0
    rooms = [max(fen(limit) - used, 0) if limit is not None else None
             for limit, used in ((cap.per_visit, 0), (cap.monthly, in_month), (cap.annual, acc[pool + "_cov"]))]
    known = [r for r in rooms if r is not None]
    base = min([above] + known)
    year_alone = rooms[2] is not None and all(r is None or rooms[2] < r for r in rooms[:2])
    if commit:
        acc[pool + "_cov"] += base
        if cap.monthly is not None:
            acc[pool + "_cov_key"], acc[pool + "_cov_month"] = month, in_month + base
    return base, above - base if year_alone else 0


def new_acc() -> dict:
    return dict(hifp=0, admissions=0, ip_ded=0, covered=0, out_ded=0, ch_ded=0, out_paid=0, month=None, month_paid=0,
                chronic=defaultdict(int), prenatal=0, cat_base=0, cat_paid=0, la_base=0, la_paid=0, maf_ded=0,
                maf_paid=0, maf2_ded=0, maf2_paid=0, out_cov=0, out_cov_key=None, out_cov_month=0, ch_cov=0,
                ch_cov_key=None, ch_cov_month=0)


def score_rows(claims: list[dict], lines: dict[str, list[dict]], tariffs: dict[str, Any]) -> dict[str, dict]:
    """Claims (dicts with the pipeline's claim context and conclusions) → amounts in fen by id."""
    accs: dict[tuple, dict] = defaultdict(new_acc)
    results = {}
    catalogues: dict[str, dict[str, list[dict]]] = {k: defaultdict(list) for k in tariffs}
    for k, lt in tariffs.items():  # a code listed for two periods has two rows
        for r in lt.catalogue.to_dict("records"):
            catalogues[k][r["code"]].append(r | {"valid_from": day(r["valid_from"]), "valid_to": day(r["valid_to"])})
    for c in sorted(claims, key=lambda c: (c["psn_no"], c["year"], c["setl_date"], c["mdtrt_id"])):
        lt = tariffs[c["tariff_key"]]
        audited, declared = split_lines(c, lines.get(c["mdtrt_id"], []), lt.tariff, catalogues[c["tariff_key"]])
        inscp = sum(x["inscp"] for x in audited)
        acc = accs[(c["psn_no"], c["year"])]
        own, direct = sum(x["own"] for x in audited), sum(x["direct"] for x in audited)
        d = pay_claim(c, sum(x["inscp"] for x in declared), lt.tariff, acc, commit=False,
                      shares=(sum(x["own"] for x in declared), sum(x["direct"] for x in declared)))
        a = pay_claim(c, inscp, lt.tariff, acc, commit=True, shares=(own, direct))
        funds = a["basic"] + a["hifmi"] + a["hifob"] + a["maf"]
        declared_funds = d["basic"] + d["hifmi"] + d["hifob"] + d["maf"]
        medfee = sum(x["amount"] for x in audited)
        hosp = max(declared_funds - funds, 0) if c["settlement_mode"] == "direct" else 0
        results[c["mdtrt_id"]] = dict(
            medfee_sumamt=medfee, inscp_scp_amt=inscp, violation_amt=sum(x["viol"] for x in audited),
            fulamt_ownpay_amt=sum(x["full"] for x in audited), overlmt_selfpay=sum(x["over"] for x in audited),
            preselfpay_amt=sum(x["pre"] for x in audited), share_selfpay_amt=own, share_fund_amt=direct,
            act_pay_dedc=a["ded"], hifp_pay=a["basic"], maf_pay=a["maf"],
            hifmi_pay=a["hifmi"], hifob_pay=a["hifob"],
            fund_pay_sumamt=funds, hosp_part_amt=hosp, psn_part_amt=medfee - funds - hosp)
    return results
