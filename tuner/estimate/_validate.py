"""Out-of-sample validation of the latency model and the conformal error bands.

- leave-one-model-out (LOMO): drop every row of one model (all boards; VWW and person detection,
  one network, are dropped together), refit, predict that model on the boards that keep other
  rows of their own: the error of a *calibrated* profile on a model it has never seen;
- leave-one-board-out (LOBO): drop every row of one board (all its kernel families), refit,
  predict the board by the cold-start transfer. The error of a *transferred* profile.

Bands are split-conformal on those out-of-sample log-residuals: with n scores, q is the
ceil((n+1)(1-ALPHA))-th smallest. LOBO (transferred boards): the score is |log(measured/predicted)|
and the band estimate x [exp(-q), exp(q)]. LOMO (calibrated boards): normalised split-conformal,
the score is |log residual| / sd, sd = hypot(posterior sd of the log prediction, SIGMA_R) from the
fold's fit (`PathFit.log_sd`: a model whose mix of work units the fit has seen gets a small sd, a
model that leans on units only the prior knows a large one), and the band is exp(+-q x sd).
The coverage reported for a pool is itself out of sample: each row's band comes from the other
rows' residuals (jackknife). A family with fewer than
`MIN_POOL` residuals borrows the pool of all families.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tuner.estimate._fit import PATH_FAMILY, SIGMA_R, Obs, cold_prediction, fit_all, observations

ALPHA = 0.2  # bands aim to cover 80% of held-out rows
MIN_POOL = 5


@dataclass(frozen=True)
class Held:
    """One held-out prediction."""

    board: str
    family: str
    path: str
    model: str
    measured_ms: float
    per_op_ms: float
    naive_ms: float
    weight: float
    how: str  # "own scale", "same core", "CoreMark/MHz", "cross-path from ..."
    source: str
    sigma: float = math.nan  # posterior sd of log(prediction) + row noise (calibrated boards only)

    @property
    def log_resid(self) -> float:
        return math.log(self.measured_ms / self.per_op_ms)

    @property
    def score(self) -> float:
        """Conformity score: |log residual|, divided by the prediction's sd where it has one
        (calibrated boards: normalised split-conformal)."""
        r = abs(self.log_resid)
        return r / self.sigma if math.isfinite(self.sigma) and self.sigma > 0 else r

    def half_width(self, q: float) -> float:
        """Band half-width in log space for this row at conformal quantile `q` of the scores."""
        return q * self.sigma if math.isfinite(self.sigma) and self.sigma > 0 else q

    @property
    def per_op_err(self) -> float:
        return (self.per_op_ms - self.measured_ms) / self.measured_ms

    @property
    def naive_err(self) -> float:
        return (self.naive_ms - self.measured_ms) / self.measured_ms


def _held(o: Obs, per_op: float, naive: float, how: str, sigma: float = math.nan) -> Held:
    per_ms = o.clock_mhz * 1e3  # cycles per millisecond
    return Held(
        o.board,
        PATH_FAMILY[o.path],
        o.path,
        o.model,
        o.cycles / per_ms,
        per_op / per_ms,
        naive / per_ms,
        o.weight,
        how,
        o.row.source if o.row else "",
        sigma,
    )


# Models that are one network: person detection is the VWW MobileNet with a one-channel input,
# so holding out one while the other stays in would leak its shape.
MODEL_GROUPS = {"person_detect": "mobilenetv1_025", "vww_mobilenetv1_025": "mobilenetv1_025"}


def _group(model: str) -> str:
    return MODEL_GROUPS.get(model, model)


def leave_one_model_out(obs: Sequence[Obs] | None = None) -> list[Held]:
    obs = observations() if obs is None else list(obs)
    out = []
    for group in sorted({_group(o.model) for o in obs}):
        train = [o for o in obs if _group(o.model) != group and o.weight > 0]
        fits = fit_all(train)
        for o in obs:
            if _group(o.model) != group or o.path not in fits or o.board not in fits[o.path].scale:
                continue
            f = fits[o.path]
            per_op = f.cycles(f.scale[o.board], o.units, o.cpb)
            sigma = math.hypot(f.log_sd(o.board, o.units, o.cpb), SIGMA_R)
            out.append(_held(o, per_op, f.naive_cpm[o.board] * o.macs, "own scale", sigma))
    return out


def leave_one_board_out(obs: Sequence[Obs] | None = None) -> list[Held]:
    obs = observations() if obs is None else list(obs)
    out = []
    for board in sorted({o.board for o in obs}):
        fits = fit_all([o for o in obs if o.board != board and o.weight > 0])
        for o in obs:
            if o.board != board:
                continue
            pred = cold_prediction(fits, o.path, o.core, o.units, o.cpb, o.macs)
            if pred is not None:
                out.append(_held(o, *pred))
    return out


def conformal_q(abs_resid: Sequence[float], alpha: float = ALPHA) -> float:
    """Split-conformal half-width: the ceil((n+1)(1-alpha))-th smallest |residual|, inf if n is too small."""
    r = sorted(abs_resid)
    k = math.ceil((len(r) + 1) * (1 - alpha))
    return r[k - 1] if 0 < k <= len(r) else math.inf


def pool(held: Sequence[Held], family: str) -> tuple[list[Held], str]:
    """Rows whose residuals set the band of `family` (weight > 0 only)."""
    rows = [h for h in held if h.weight > 0]
    mine = [h for h in rows if h.family == family]
    if len(mine) >= MIN_POOL:
        return mine, f"{len(mine)} {family} rows"
    return rows, f"{len(rows)} rows of all families ({family} has {len(mine)}, fewer than {MIN_POOL})"


def band_q(held: Sequence[Held], family: str) -> tuple[float, str]:
    """Conformal quantile of the scores of `family`'s pool, and a description of the pool."""
    rows, what = pool(held, family)
    return conformal_q([h.score for h in rows]), what


def band(held: Sequence[Held], family: str) -> tuple[float, float, str]:
    """(low, high) factors of the typical band for `family` and a description: exp(-+q) for plain
    residuals; for normalised ones (calibrated boards) q x the median sd of the pool's rows."""
    q, what = band_q(held, family)
    rows, _ = pool(held, family)
    half = _median([h.half_width(q) for h in rows]) if rows else q
    return math.exp(-half), math.exp(half), what


def _median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def jackknife_q(held: Sequence[Held], h: Held) -> float:
    """Conformal quantile of the scores for row `h`, from the other rows (its family's pool rule)."""
    pooled, _ = pool([x for x in held if x is not h], h.family)
    return conformal_q([x.score for x in pooled])


def jackknife_coverage(held: Sequence[Held], family: str | None = None) -> tuple[float, float, int]:
    """(coverage, median high/low ratio, n) of bands built without each row, over the weighted rows of
    `family` (all families if None)."""
    rows = [h for h in held if h.weight > 0 and (family is None or h.family == family)]
    if not rows:
        return math.nan, math.nan, 0
    qs = [jackknife_q(held, h) for h in rows]
    hits = sum(h.score <= q for h, q in zip(rows, qs, strict=True))
    ratios = [math.exp(2 * h.half_width(q)) for h, q in zip(rows, qs, strict=True)]
    ratios.sort()
    mid = len(ratios) // 2
    median = ratios[mid] if len(ratios) % 2 else math.sqrt(ratios[mid - 1] * ratios[mid])
    return hits / len(rows), median, len(rows)


def mape(errors: Sequence[float]) -> float:
    return sum(abs(e) for e in errors) / len(errors) if errors else math.nan
