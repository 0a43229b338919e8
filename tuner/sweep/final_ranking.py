"""The final ranking on small data: cross-validation folds 2..K, trained after the search and only
for the candidates that can still rank first.

During the search every candidate trains once, on fold 1 (the model that is exported and tested),
and the sampler and pruner learn from that score. Then the feasible candidates are taken best
first: each trains its next fold while the mean of its folds so far is within DRAW_MARGIN of the
best mean over all K folds (tuner.pipeline.more_draws). Taken best first, that bar is the sweep's
from the first candidate on; when the folds ran inside each trial, the bar was the best score so
far, low early in the sweep, so most early candidates paid every fold.

Optuna's trial values cannot change once told, so the fold scores live in the study's
`fold_scores` attribute ({trial number: [fold 1, fold 2, ...]}), written after every fold: a killed
final ranking resumes where it stopped, and `records` reads the ranking score from there."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tuner.sweep.records import CandidateState, TrialRecord

log = logging.getLogger(__name__)

FOLD_SCORES = "fold_scores"
SECONDS = "final_ranking_seconds"  # {"total", "fit", "trainings"}: time spent after the search


def contenders(recs: list[TrialRecord]) -> list[TrialRecord]:
    """Feasible, scored trials that trained themselves (a duplicate shares its twin's folds) and
    whose folds 2..K are not recorded inside the trial (sweeps before the final ranking)."""
    return [
        r
        for r in recs
        if r.state is CandidateState.FEASIBLE
        and r.duplicate_of is None
        and r.metrics.get("val_score") is not None
        and int(r.metrics.get("val_draws") or 1) == 1
    ]


def plan(scores: dict[int, list[float]], k: int) -> tuple[list[int], float | None]:
    """Trials in the order the final ranking takes them (best mean first) and the bar so far."""
    from tuner.pipeline import more_draws

    bar = max((float(np.mean(s)) for s in scores.values() if len(s) >= k), default=None)
    order = sorted(scores, key=lambda n: (-float(np.mean(scores[n])), n))
    return [n for n in order if len(scores[n]) < k and more_draws(scores[n], bar)], bar


def fill_folds(scores: dict[int, list[float]], k: int, train: Callable[[int, int], float]) -> None:
    """The rule, on `scores` ({trial: its fold scores so far}): candidates best first (`plan`), each
    given its next fold, `train(trial, fold)` for fold 2..k, while `more_draws` holds against the best
    mean over all k folds so far. Appends to `scores`."""
    from tuner.pipeline import more_draws

    todo, bar = plan(scores, k)
    for n in todo:  # one left out now stays out: the bar only rises
        s = scores[n]
        while len(s) < k and more_draws(s, bar):
            s.append(float(train(n, len(s) + 1)))
        if len(s) >= k:
            bar = float(np.mean(s)) if bar is None else max(bar, float(np.mean(s)))


class _Enough(Exception):
    pass


def requests(
    scores: dict[int, list[float]], k: int, known: dict[tuple[int, int], float], depth: int
) -> list[tuple[int, int]]:
    """The next `depth` fold trainings (trial, fold) the rule will ask for that are not in `known`,
    in its order. The first is certain; the later ones guess that an unknown fold scores the mean of
    the candidate's folds so far (it goes on while it can)."""
    wanted: list[tuple[int, int]] = []

    def guess(n: int, fold: int, so_far: list[float]) -> float:
        wanted.append((n, fold))
        if len(wanted) >= depth:
            raise _Enough
        return float(np.mean(so_far))

    _replay(scores, k, known, guess)
    return wanted


def settled(scores: dict[int, list[float]], k: int, known: dict[tuple[int, int], float]) -> dict[int, list[float]]:
    """The fold scores the rule has consumed so far: what a one-at-a-time ranking would hold now."""

    def stop(n: int, fold: int, so_far: list[float]) -> float:
        raise _Enough

    return _replay(scores, k, known, stop)


def _replay(
    scores: dict[int, list[float]],
    k: int,
    known: dict[tuple[int, int], float],
    unknown: Callable[[int, int, list[float]], float],
) -> dict[int, list[float]]:
    """The rule on a copy of `scores`, each fold read from `known`; a fold not there goes to
    `unknown(trial, fold, scores so far)`, which answers or ends the replay (_Enough)."""
    sim = {n: list(s) for n, s in scores.items()}

    def lookup(n: int, fold: int) -> float:
        return known[(n, fold)] if (n, fold) in known else unknown(n, fold, sim[n])

    try:
        fill_folds(sim, k, lookup)
    except _Enough:
        pass
    return sim


Scores = dict[int, list[float]]


def current_scores(study: Any) -> tuple[list[TrialRecord], dict[int, TrialRecord], dict[str, list[float]], Scores]:
    """Every trial's record, the contenders by number, the stored fold scores and each contender's
    scores so far (the stored ones, else its fold 1)."""
    stored = {str(n): [float(v) for v in s] for n, s in (study.user_attrs.get(FOLD_SCORES) or {}).items()}
    every = [TrialRecord.from_frozen(t) for t in study.get_trials(deepcopy=False)]
    recs = {r.trial: r for r in contenders(every)}
    scores = {n: stored.get(str(n)) or [float(r.metrics["val_score"])] for n, r in recs.items()}
    return every, recs, stored, scores


def complete_ranking(
    study: Any, problem: Any, emit: Any = None, log_dir: Path | None = None, ahead: Any = None
) -> None:
    """Train folds 2..K for the candidates that can still rank first; no-op without cross-validation.

    The folds train in child processes when the machine has cores to spare (tuner.sweep.fold_pool):
    while the rule waits for one fold, the others train the folds it will most likely ask for next.
    A fold trained ahead and not asked for is dropped, so the scores are the one-at-a-time rule's.
    `ahead` (tuner.sweep.folds_ahead.FoldsAhead) brings the folds trained during the search."""
    from tuner.pipeline import fit_seconds_limit
    from tuner.sweep import fold_pool

    if not problem.folds:
        return
    emit = emit or (lambda *a, **kw: None)
    k = 1 + len(problem.folds)
    every, recs, stored, scores = current_scores(study)
    if not plan(scores, k)[0]:
        return
    start, fit, trainings = time.perf_counter(), 0.0, 0
    limit = fit_seconds_limit(problem)
    known: dict[tuple[int, int], float] = {}
    running: set[tuple[int, int]] = set()
    had = sum(len(s) for s in scores.values())
    shown = None
    during = 0
    if ahead is not None:
        known, fit = ahead.handover()
        trainings = during = len(known)
    pool = fold_pool.open_pool(problem.folds, k, log_dir)
    processes = pool.slots
    try:
        while wanted := requests(scores, k, known, pool.slots):
            for n, fold in wanted:
                if (n, fold) not in running and len(running) < pool.slots:
                    pool.start((n, fold), recs[n].params, fold - 2, limit, _epochs(recs[n]))
                    running.add((n, fold))
            if wanted[0] != shown:
                shown = wanted[0]
                emit("stage", stage=f"final ranking: trial {shown[0]}, fold {shown[1]}/{k}", trial=None)
            item, result = pool.wait()
            running.discard(item)
            if isinstance(result, BaseException):  # a fold that fails scores 0: the candidate cannot win on it
                log.warning("trial %d: fold %d failed (%s); scored 0", item[0], item[1], result)
                result = (0.0, 0.0)
            known[item] = float(result[0])
            fit, trainings = fit + float(result[1]), trainings + 1
            _store(study, stored, settled(scores, k, known))  # after every fold: a killed ranking resumes here
    finally:
        pool.close()
    _store(study, stored, settled(scores, k, known))  # the folds trained during the search may be all it needed
    fill_folds(scores, k, lambda n, fold: known[(n, fold)])
    unused = len(known) - (sum(len(s) for s in scores.values()) - had)  # trained ahead, not asked for
    total = time.perf_counter() - start
    before = study.user_attrs.get(SECONDS) or {}
    study.set_user_attr(
        SECONDS,
        {
            "total": float(before.get("total", 0.0)) + total,
            "fit": float(before.get("fit", 0.0)) + fit,
            "trainings": int(before.get("trainings", 0)) + trainings,
            "unused": int(before.get("unused", 0)) + unused,
            "during_search": int(before.get("during_search", 0)) + during,
            "processes": processes,
        },
    )
    done = [r for r in with_fold_scores(every, stored) if r.state.is_finished()]
    emit("stage", stage="final ranking done", trial=None)
    emit("progress", done=len(done), total=None, records=done)  # total None: the bar keeps its own
    emit("note", text=note_since(before, study.user_attrs))


def _store(study: Any, stored: dict[str, list[float]], settled_scores: Scores) -> None:
    now = {str(m): s for m, s in settled_scores.items() if len(s) > 1}
    if any(stored.get(m) != s for m, s in now.items()):
        stored.update(now)
        study.set_user_attr(FOLD_SCORES, stored)


def note_since(before: dict[str, Any], attrs: dict[str, Any]) -> str:
    """One line on the final ranking's work since `before` (its SECONDS attribute then); '' if none."""
    now = attrs.get(SECONDS) or {}
    trainings = int(now.get("trainings", 0)) - int(before.get("trainings", 0))
    if trainings <= 0:
        return ""
    seconds = float(now.get("total", 0.0)) - float(before.get("total", 0.0))
    scores = list((attrs.get(FOLD_SCORES) or {}).values())
    k = max((len(s) for s in scores), default=0)
    full = sum(1 for s in scores if len(s) == k)
    processes = int(now.get("processes", 1))
    unused = int(now.get("unused", 0)) - int(before.get("unused", 0))
    during = int(now.get("during_search", 0)) - int(before.get("during_search", 0))
    parts = [f"{during} during the search"] if during else []
    if processes > 1:
        parts.append(f"{processes} side by side" + (" after it" if during else ""))
    if parts:
        parts.append(f"{unused} trained ahead and not needed")
    how = f" ({'; '.join(parts)})" if parts else ""
    return (
        f"final ranking: {trainings} fold trainings in {seconds:.0f} s{how}; {full} candidates have all {k} "
        f"folds, the others cannot rank first"
    )


def _epochs(rec: TrialRecord) -> int | None:
    best = rec.metrics.get("best_epoch")
    return int(best) if best else None


def with_fold_scores(recs: list[TrialRecord], fold_scores: dict[str, list[float]] | None) -> list[TrialRecord]:
    """The records with the final ranking's scores: `val_score` the mean of the folds run,
    `val_draws` their number, `val_scores` the list (a duplicate takes its twin's)."""
    import dataclasses

    if not fold_scores:
        return recs
    out = []
    for r in recs:
        s = fold_scores.get(str(r.duplicate_of if r.duplicate_of is not None else r.trial))
        if s and r.state is CandidateState.FEASIBLE:
            extra = {"val_score": float(np.mean(s)), "val_draws": len(s), "val_scores": [float(v) for v in s]}
            r = dataclasses.replace(r, metrics={**r.metrics, **extra})
        out.append(r)
    return out
