"""Synthetic claim lines (费用明细) drawn from the tariff's catalogue, with planted audit violations.

Clean lines are drawn from pools of catalogue items that no audit edit can object to for the
claim at hand (its setting, the patient's gender and age band, the institution's level), so
that the few percent of violating lines are exactly the ones planted: an item for the other
gender, a child-only drug for an adult, an item above the institution's level, an
inpatient-only item on an outpatient claim, an indication-limited drug without its diagnosis,
a daily quantity above the maximum, bed days beyond the stay. Only columns of the catalogue
are used, never particular rows, except the reference codes for daily nursing, saline,
dialysis and caesarean sections, which are skipped when a catalogue lacks them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from yibao.calculator.audit import INPATIENT_MED_TYPES, WHOLE_LINE_EDITS, indication_ok
from yibao.calculator.dates import age_on, day_array, length_of_stay
from yibao.money import div_half_up
from yibao.synth.draw import Rng, chance, split, within_groups
from yibao.tariffs.catalogue import NO_LIMIT

AGE_BANDS = ((0, 14), (14, 18), (18, 60), (60, 200))
POOL_KINDS = ("drug", "service", "material", "bed")
DRUG, SERVICE, MATERIAL, BED = range(len(POOL_KINDS))
NURSING, SALINE, DIALYSIS, CAESAREAN = "S-NURSE1", "A-SALINE", "S-DIAL", "S-CSEC"
VIOLATING_SHARE = 0.02  # of all lines
VIOLATION_MIX = {"GENDER": 0.15, "AGE": 0.15, "LEVEL": 0.15, "SETTING": 0.15, "INDICATION": 0.10,
                 "QTY_DAY": 0.15, "BED_DAYS": 0.15}
PRICE_AT_CAP, PRICE_OVER_CAP = 0.25, 0.05
BASE_PRICE = {"drug": 30.0, "service": 80.0, "material": 2500.0, "bed": 40.0}  # yuan, items without a cap


@dataclass(frozen=True)
class Catalogue:
    """The catalogue's restriction columns as arrays, and a price for every item."""

    code: np.ndarray
    kind: np.ndarray  # index into POOL_KINDS
    gender: np.ndarray
    age_from: np.ndarray
    age_below: np.ndarray
    min_level: np.ndarray
    inpatient_only: np.ndarray
    max_per_day: np.ndarray  # float, inf when none
    limited: np.ndarray  # has indications
    indications: np.ndarray
    audited: np.ndarray  # level 01/02: the audit edits apply
    in_year: np.ndarray  # listed on every day of the year
    cap_fen: np.ndarray  # -1 when none
    price_fen: np.ndarray  # the usual price: the cap, or a drawn one

    @classmethod
    def of(cls, cat: pd.DataFrame, rng: Rng, year: int) -> Catalogue:
        kind = cat["kind"].map({k: i for i, k in enumerate(POOL_KINDS)}).to_numpy(dtype=np.int64)
        cap = cat["price_cap_fen"].to_numpy(dtype=np.int64)
        cap = np.where(cap == NO_LIMIT, -1, cap)
        base = np.array([BASE_PRICE[k] for k in cat["kind"]]) * rng.lognormal(0, 0.5, len(cat)) * 100
        per_day = cat["max_per_day_milli"].to_numpy(dtype=np.int64)
        first, last = np.datetime64(dt.date(year, 1, 1), "D"), np.datetime64(dt.date(year, 12, 31), "D")
        return cls(code=cat["code"].to_numpy(dtype=object), kind=kind,
                   gender=cat["gender"].to_numpy(dtype=object),
                   age_from=cat["age_from"].to_numpy(), age_below=cat["age_below"].to_numpy(),
                   min_level=cat["min_level"].to_numpy(),
                   inpatient_only=cat["inpatient_only"].to_numpy(dtype=bool),
                   max_per_day=np.where(per_day == NO_LIMIT, np.inf, per_day / 1000),
                   limited=(cat["indications"] != "").to_numpy(),
                   indications=cat["indications"].to_numpy(dtype=object),
                   audited=cat["level"].isin(["01", "02"]).to_numpy(),
                   in_year=((cat["valid_from"].to_numpy() <= first) & (cat["valid_to"].to_numpy() >= last)),
                   cap_fen=cap,
                   price_fen=np.where(cap >= 0, cap, np.maximum(np.rint(base), 1)).astype(np.int64))

    def restricted(self, edit: str) -> np.ndarray:
        """Items an audit edit can object to at all."""
        return {"GENDER": self.gender != "", "AGE": (self.age_from > 0) | (self.age_below < 200),
                "LEVEL": self.min_level > 1, "SETTING": self.inpatient_only, "INDICATION": self.limited,
                "QTY_DAY": np.isfinite(self.max_per_day)}[edit]

    def find(self, code: str) -> int:
        hit = np.flatnonzero((self.code == code) & self.in_year)
        return int(hit[0]) if len(hit) else -1


@dataclass(frozen=True)
class Context:
    """Per claim with lines: what decides which items are clean for it."""

    claim: np.ndarray  # row in the claims table
    inpatient: np.ndarray
    stay: np.ndarray  # days with bed lines (length of stay), 1 for outpatient claims
    admit: np.ndarray  # datetime64[D]
    female: np.ndarray
    age: np.ndarray
    level: np.ndarray
    caesarean: np.ndarray
    dialysis: np.ndarray
    direct: np.ndarray
    dx_ok: np.ndarray  # (claims, limited items): a diagnosis meets the item's indications
    limited_col: np.ndarray  # per catalogue item its column of dx_ok, −1 when not limited

    def indicated(self, c: np.ndarray, item: np.ndarray) -> np.ndarray:
        """Does claim c meet the indications of the item (True for items without any)?"""
        col = self.limited_col[item]
        if not self.dx_ok.shape[1]:
            return np.ones(len(c), dtype=bool)
        return (col < 0) | self.dx_ok[c, np.maximum(col, 0)]

    def static_violations(self, c: np.ndarray, item: np.ndarray, cat: Catalogue) -> dict[str, np.ndarray]:
        """The whole-line edits an item on claim c (both arrays) would break."""
        audited = cat.audited[item]
        gender = cat.gender[item]
        return {
            "GENDER": audited & (gender != "") & ((gender == "F") != self.female[c]),
            "AGE": audited & ((self.age[c] < cat.age_from[item]) | (self.age[c] >= cat.age_below[item])),
            "LEVEL": audited & (self.level[c] < cat.min_level[item]),
            "SETTING": audited & cat.inpatient_only[item] & ~self.inpatient[c],
            "INDICATION": audited & ~self.indicated(c, item),
        }


SLOT_FIELDS = ("c", "day", "pool", "item", "cnt", "steady")


@dataclass
class Slots:
    """Lines before their items and prices are settled; `item` −1 means draw from a pool."""

    c: np.ndarray  # index into Context
    day: np.ndarray
    pool: np.ndarray  # index into POOL_KINDS
    item: np.ndarray
    cnt: np.ndarray  # NaN: the default for the item
    steady: np.ndarray  # repeated daily: priced once per claim

    @classmethod
    def of(cls, c: np.ndarray, day: np.ndarray, pool: int | np.ndarray = 0, item: int | np.ndarray = -1,
           cnt: float | np.ndarray = np.nan, steady: bool = False) -> Slots:
        n = len(c)
        return cls(c, np.asarray(day, dtype=np.int64), np.broadcast_to(pool, n).astype(np.int64),
                   np.broadcast_to(item, n).astype(np.int64), np.broadcast_to(cnt, n).astype(np.float64),
                   np.full(n, steady))

    @classmethod
    def concat(cls, parts: list[Slots]) -> Slots:
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in SLOT_FIELDS))

    def subset(self, keep: np.ndarray) -> Slots:
        return Slots(*(getattr(self, f)[keep] for f in SLOT_FIELDS))


def context(claims: pd.DataFrame, persons: pd.DataFrame, person: np.ndarray, level: np.ndarray, dx: np.ndarray,
            cat: Catalogue) -> Context:
    rows = np.flatnonzero((claims["kind"] == "claim").to_numpy())
    med_type = claims["med_type"].to_numpy(dtype=object)[rows]
    inpatient = np.isin(med_type, INPATIENT_MED_TYPES)
    admit = day_array(claims["admit_date"].to_numpy()[rows])
    discharge = day_array(claims["discharge_date"].to_numpy()[rows])
    stay = np.where(inpatient, length_of_stay(admit, discharge), 1)
    p = person[rows]
    birth = persons["birth_date"].to_numpy()[p]
    first_dx = dx[rows, 0].astype(str)
    return Context(claim=rows, inpatient=inpatient, stay=stay, admit=admit,
                   female=(persons["gender"].to_numpy(dtype=object)[p] == "F"), age=age_on(birth, admit),
                   level=level[rows],
                   caesarean=(claims["delivery"].to_numpy(dtype=object)[rows] == "caesarean"),
                   dialysis=(med_type == "14") & np.char.startswith(first_dx, "N18"),
                   direct=(claims["settlement_mode"].to_numpy(dtype=object)[rows] == "direct"),
                   dx_ok=_indicated(dx[rows], cat),
                   limited_col=np.where(cat.limited, np.cumsum(cat.limited) - 1, -1))


def _indicated(dx: np.ndarray, cat: Catalogue) -> np.ndarray:
    """(claims, limited items): does a diagnosis of the claim meet the item's indications?
    The audit's own matcher decides, once per distinct (diagnosis, item) pair."""
    limited = np.flatnonzero(cat.limited)
    codes, vocab = pd.factorize(pd.Series(dx.ravel().astype(str)))
    if not len(limited) or not len(vocab):
        return np.zeros((len(dx), len(limited)), dtype=bool)
    pairs_dx = np.repeat(np.arange(len(vocab)), len(limited))
    pairs_item = np.tile(limited, len(vocab))
    ok = indication_ok(np.asarray(cat.indications, dtype=object), pairs_item,
                       np.asarray(vocab, dtype=object), pairs_dx)
    ok = ok.reshape(len(vocab), len(limited))
    ok[np.asarray(vocab) == ""] = False
    return ok[codes.reshape(dx.shape)].any(axis=1)


def lines(rng: Rng, ctx: Context, cat: Catalogue, claim_ids: np.ndarray) -> pd.DataFrame:
    slots = Slots.concat([_daily(rng, ctx, cat), _extras(rng, ctx, cat), _indicated_lines(rng, ctx, cat)])
    slots.item = _draw_items(rng, ctx, cat, slots)
    slots = slots.subset(slots.item >= 0)
    slots = Slots.concat([slots, _violations(rng, ctx, cat, slots)])
    return _frame(rng, ctx, cat, slots, claim_ids)


def _repeat_days(ctx: Context, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(claim, day) for every day of the stay of the given claims."""
    return np.repeat(rows, ctx.stay[rows]), within_groups(ctx.stay[rows])


def _some_day(rng: Rng, ctx: Context, c: np.ndarray) -> np.ndarray:
    """A day of each claim's stay (0 for a visit), as an offset from admission."""
    return np.floor(rng.random(len(c)) * ctx.stay[c]).astype(np.int64)


def _daily(rng: Rng, ctx: Context, cat: Catalogue) -> Slots:
    """Bed, nursing, saline and an infusion on the days of every stay."""
    c, d = _repeat_days(ctx, np.flatnonzero(ctx.inpatient))
    saline = chance(rng, 0.5, len(c))
    infusion = chance(rng, 0.25, len(c))
    nursing, salt = cat.find(NURSING), cat.find(SALINE)
    top = np.minimum(3, cat.max_per_day[salt]) if salt >= 0 else 3
    parts = [Slots.of(c, d, pool=BED, cnt=1.0, steady=True),
             Slots.of(c[infusion], d[infusion], pool=DRUG, steady=True)]
    if nursing >= 0:
        parts.append(Slots.of(c, d, item=nursing, cnt=1.0, steady=True))
    if salt >= 0:
        doses = rng.integers(1, int(top) + 1, saline.sum())
        parts.append(Slots.of(c[saline], d[saline], item=salt, cnt=doses, steady=True))
    return Slots.concat(parts)


def _extras(rng: Rng, ctx: Context, cat: Catalogue) -> Slots:
    """Drugs, tests and materials: several per stay, two to six per outpatient visit."""
    n = len(ctx.claim)
    inpatient = ctx.inpatient
    drugs = np.where(inpatient, 1 + rng.poisson(2, n), 0)
    services = np.where(inpatient, 1 + rng.poisson(1, n), 0)
    materials = (inpatient & chance(rng, 0.35, n)).astype(np.int64)
    visit = rng.integers(2, 7, n)
    with_test = ~inpatient & chance(rng, 0.5, n)
    drugs = np.where(inpatient, drugs, visit - with_test)
    services = np.where(inpatient, services, with_test.astype(np.int64))
    parts = []
    for pool, count in ((DRUG, drugs), (SERVICE, services), (MATERIAL, materials)):
        c = np.repeat(np.arange(n), count)
        parts.append(Slots.of(c, _some_day(rng, ctx, c), pool=pool))
    for code, wanted, on_day in ((CAESAREAN, ctx.caesarean, 1), (DIALYSIS, ctx.dialysis, 0)):
        item = cat.find(code)
        c = np.flatnonzero(wanted)
        if item >= 0 and len(c):
            sessions = np.minimum(rng.integers(8, 14, len(c)), cat.max_per_day[item])  # a month of dialysis
            cnt = sessions if code == DIALYSIS else 1.0
            parts.append(Slots.of(c, np.minimum(on_day, ctx.stay[c] - 1), item=item, cnt=cnt))
    return Slots.concat(parts)


def _indicated_lines(rng: Rng, ctx: Context, cat: Catalogue) -> Slots:
    """Indication-limited items (albumin for cirrhosis, …) on most claims that meet them."""
    parts = []
    for item in np.flatnonzero(cat.limited & cat.in_year & (cat.kind < BED)):
        c = np.arange(len(ctx.claim))
        c = c[ctx.indicated(c, np.full(len(c), item))]
        clean = ~np.logical_or.reduce(list(ctx.static_violations(c, np.full(len(c), item), cat).values()))
        c = c[clean & chance(rng, 0.7, len(c))]
        parts.append(Slots.of(c, _some_day(rng, ctx, c), item=item,
                              cnt=np.minimum(rng.integers(1, 4, len(c)), cat.max_per_day[item])))
    return Slots.concat(parts) if parts else Slots.of(np.zeros(0, dtype=np.int64), np.zeros(0))


def _pools(cat: Catalogue) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clean items per (kind, inpatient, male, age band, level): (members, offsets, sizes)."""
    members, sizes = [], []
    for kind in range(len(POOL_KINDS)):
        for inpatient in (False, True):
            for male in (False, True):
                for low, high in AGE_BANDS:
                    for level in (1, 2, 3, 4):
                        ok = (cat.in_year & (cat.kind == kind) & ~cat.limited
                              & ((cat.gender == "") | (cat.gender == ("M" if male else "F")))
                              & (cat.age_from <= low) & (cat.age_below >= high) & (cat.min_level <= level)
                              & (inpatient | ~cat.inpatient_only))
                        if kind != BED:
                            ok &= ~np.isfinite(cat.max_per_day)  # daily maxima stay with the daily lines
                        members.append(np.flatnonzero(ok))
                        sizes.append(len(members[-1]))
    sizes_arr = np.array(sizes, dtype=np.int64)
    return np.concatenate(members), np.cumsum(sizes_arr) - sizes_arr, sizes_arr


def _pool_of(ctx: Context, c: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """The pool (numbered as `_pools` lays them out) for a slot of kind `pool` on claim c."""
    band = np.searchsorted([high for _, high in AGE_BANDS], ctx.age[c], side="right")
    band = np.minimum(band, len(AGE_BANDS) - 1)
    level = np.clip(ctx.level[c], 1, 4) - 1
    return (((pool * 2 + ctx.inpatient[c]) * 2 + ~ctx.female[c]) * len(AGE_BANDS) + band) * 4 + level


def _draw_items(rng: Rng, ctx: Context, cat: Catalogue, slots: Slots) -> np.ndarray:
    """Items for the slots that have none: one per slot from its pool (a stay keeps one bed
    item); −1 where the catalogue has nothing clean for it."""
    members, offsets, sizes = _pools(cat)
    if not len(members):
        return slots.item
    pool = _pool_of(ctx, slots.c, slots.pool)
    u = rng.random(len(slots.c))
    bed = slots.pool == BED
    u[bed] = rng.random(len(ctx.claim))[slots.c[bed]]  # the same bed item every day of a stay
    # cheaper items are used more often: weight 1/√price, drawn through cumulative weights
    cum = np.concatenate([[0.0], np.cumsum(1 / np.sqrt(cat.price_fen[members]))])
    first, last = offsets[pool], offsets[pool] + sizes[pool]
    target = cum[first] + u * (cum[last] - cum[first])
    at = np.clip(np.searchsorted(cum, target, side="right") - 1, first, np.maximum(last - 1, first))
    drawn = np.where(sizes[pool] > 0, members[np.minimum(at, len(members) - 1)], -1)
    return np.where(slots.item >= 0, slots.item, drawn)


def _violations(rng: Rng, ctx: Context, cat: Catalogue, clean: Slots) -> Slots:
    """About VIOLATING_SHARE of the lines, each breaking one edit (only that one, where the
    catalogue has an item that allows it)."""
    counts = split(round(VIOLATING_SHARE * len(clean.c)), VIOLATION_MIX)
    parts = [_extra_bed_days(rng, ctx, clean, counts.pop("BED_DAYS"))]
    listed = np.flatnonzero(cat.in_year & cat.audited & (cat.kind < BED))
    for code, want in counts.items():
        candidates = listed[cat.restricted(code)[listed]]
        if want == 0 or not len(ctx.claim) or not len(candidates):
            continue
        tries = 4 * want  # random (claim, item) pairs, of which those breaking the edit are kept
        c = rng.integers(0, len(ctx.claim), tries)
        item = candidates[rng.integers(0, len(candidates), tries)]
        broken = ctx.static_violations(c, item, cat)
        others = np.logical_or.reduce([v for k, v in broken.items() if k != code])
        target = ctx.inpatient[c] | (cat.kind[item] != MATERIAL)  # no implants outpatient
        target &= broken[code] if code in WHOLE_LINE_EDITS else ~others
        ranked = np.flatnonzero(target)[np.argsort(others[target], kind="stable")]  # breaking only this first
        keep = np.sort(ranked[:want])
        c, item = c[keep], item[keep]
        cnt = cat.max_per_day[item] + rng.integers(1, 4, len(c)) if code == "QTY_DAY" else np.nan
        parts.append(Slots.of(c, _some_day(rng, ctx, c), item=item, cnt=cnt))
    return Slots.concat(parts)


def _extra_bed_days(rng: Rng, ctx: Context, clean: Slots, want: int) -> Slots:
    """Bed days charged beyond the stay: one or two more of a stay's own bed item."""
    beds = np.flatnonzero(clean.pool == BED)
    pick = beds[rng.integers(0, len(beds), want if len(beds) else 0)]
    c = clean.c[pick]
    return Slots.of(c, ctx.stay[c], item=clean.item[pick], cnt=rng.integers(1, 3, len(c)), steady=True)


def _quantities(rng: Rng, ctx: Context, cat: Catalogue, slots: Slots, price_fen: np.ndarray) -> np.ndarray:
    """Default quantities: one bed day, one service or material; for drugs a day's infusion,
    or a supply worth some tens to hundreds of yuan (sixty tablets, or one pen); a few half
    units; never above a daily maximum."""
    n = len(slots.c)
    kind = cat.kind[slots.item]
    day_doses = np.clip(np.rint(rng.uniform(2000, 20000, n) / price_fen), 1, 10)
    worth = np.where(ctx.inpatient[slots.c], rng.uniform(2000, 30000, n), rng.uniform(2000, 15000, n))
    supply = np.clip(np.rint(worth / price_fen), 1, 60)
    doses = np.where(slots.steady, day_doses, supply)
    doses = doses + np.where(chance(rng, 0.02, n), 0.5, 0.0)
    twice = chance(rng, 0.1, n) & (kind == SERVICE)
    default = np.where(kind == DRUG, doses, np.where(twice, 2.0, 1.0))
    default = np.minimum(default, cat.max_per_day[slots.item])
    return np.where(np.isnan(slots.cnt), default, slots.cnt)


def _prices(rng: Rng, ctx: Context, cat: Catalogue, slots: Slots) -> np.ndarray:
    """Unit prices in fen: mostly below or at the cap, some above it; a daily item keeps one
    price through a stay."""
    n = len(slots.c)
    how = rng.random(n)
    per_claim = rng.random((len(ctx.claim), 2))
    how = np.where(slots.steady, per_claim[slots.c, 0], how)
    below = 0.7 + 0.3 * np.where(slots.steady, per_claim[slots.c, 1], rng.random(n))
    factor = np.where(how < PRICE_OVER_CAP, 1.03 + 0.37 * rng.random(n),
                      np.where(how < PRICE_OVER_CAP + PRICE_AT_CAP, 1.0, below))
    usual = cat.price_fen[slots.item]
    price = np.maximum(np.rint(usual * factor).astype(np.int64), 1)
    cap = cat.cap_fen[slots.item]
    return np.where((cap >= 0) & (how < PRICE_OVER_CAP), np.maximum(price, cap + 1), price)


def _frame(rng: Rng, ctx: Context, cat: Catalogue, slots: Slots, claim_ids: np.ndarray) -> pd.DataFrame:
    price = _prices(rng, ctx, cat, slots)
    cnt = _quantities(rng, ctx, cat, slots, price)
    order = np.lexsort((np.arange(len(slots.c)), slots.day, slots.c))
    c, item, cnt, price, day = slots.c[order], slots.item[order], cnt[order], price[order], slots.day[order]
    per_claim = np.bincount(c, minlength=len(ctx.claim))
    position = within_groups(per_claim[per_claim > 0])
    width = max(2, len(str(int(per_claim.max(initial=0)))))
    line_ids = pa.array([f"{i + 1:0{width}d}" for i in range(int(per_claim.max(initial=0)))], type=pa.string())
    cnt_milli = np.rint(cnt * 1000).astype(np.int64)
    amount = div_half_up(price * cnt_milli, np.int64(1000)) / 100
    return pd.DataFrame({
        "mdtrt_id": _text(pa.array(claim_ids[ctx.claim], type=pa.string()), c),
        "line_id": _text(line_ids, position),
        "med_list_codg": _text(pa.array(cat.code, type=pa.string()), item),
        "service_date": (ctx.admit[c] + day.astype("timedelta64[D]")).astype("datetime64[ns]"),
        "pric": price / 100,
        "cnt": cnt,
        "det_item_fee_sumamt": np.where(ctx.direct[c], amount, np.nan),
        "chrgitm_lv": _text(pa.array([""], type=pa.string()), np.zeros(len(c), dtype=np.int64)),
        "selfpay_prop": np.full(len(c), np.nan),
        "pric_uplmt_amt": np.full(len(c), np.nan),
    })


def _text(values: pa.Array, index: np.ndarray) -> pd.Series:
    """values[index] as a `str` column, gathered in Arrow (no Python string per row)."""
    return pa.chunked_array([values.take(pa.array(index, type=pa.int64()))]).to_pandas()
