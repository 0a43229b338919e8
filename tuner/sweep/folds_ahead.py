"""The final ranking's folds, trained during the search on the core the search leaves idle.

A single-worker sweep trains on about one core (one thread per op, tuner.threads), and the trial's
post stages take little of the other (tuner.sweep.post_pool). On small data the final ranking
(tuner.sweep.final_ranking) then trains folds 2..K of the candidates that can still rank first. So
while the search runs, one fold process at idle priority (SCHED_IDLE: it runs only when the
search's processes leave a core free) trains the fold that rule would ask for first if the search
ended now, one at a time. The final ranking starts with those scores. A fold counts only when the
rule asks for it, in its order, so the fold scores are the ones the rule gets without this (a fold
scores the same in any process); the search itself does not see them. At the final ranking this
process is stopped (a fold it was training is lost): at idle priority it would wait behind any
other work on the machine, so the final ranking trains in its own processes as before.

Not kept across a kill: a resumed sweep trains again what was trained ahead and not yet asked for.

Off by default (TUNER_FOLDS_AHEAD=1 turns it on): on the 2-vCPU machine it was measured on, the
second core was not free. The search's fits took 7-32% longer with the fold process beside them
in four of five same-run pairs (at nice 10 and at SCHED_IDLE alike), which ate what the final
ranking saved: the demo's wall time moved -12%, -5%, -3% and +7% over four 10-trial pairs, and -1%
on a 30-trial sweep (docs/engines.md, twelfth round). On a machine whose cores do not share one
physical core it may pay."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


ON_ENV = "TUNER_FOLDS_AHEAD"  # "1": on (off by default, see the module's docstring)


def wanted(workers: int, engine: str, problem: Any) -> bool:
    """Folds ahead when asked for (TUNER_FOLDS_AHEAD=1), the post stages overlap too (one worker,
    2+ cores, an Optuna engine, TUNER_OVERLAP not 0) and the data has cross-validation folds."""
    from tuner.sweep import fold_pool, post_pool

    folds = getattr(problem, "folds", None)
    if os.environ.get(ON_ENV, "0") != "1" or not folds:
        return False
    return post_pool.wanted(workers, engine) and fold_pool.processes_for(1 + len(folds)) > 0


class FoldsAhead:
    """`update(study)` after each recorded trial: keeps the fold it returns, starts the next."""

    def __init__(self, problem: Any, log_dir: Path | None = None) -> None:
        from tuner.sweep import fold_pool

        self.problem = problem
        self.k = 1 + len(problem.folds)
        self.known: dict[tuple[int, int], float] = {}
        self.running: tuple[int, int] | None = None  # the fold in the process (one at a time)
        self.fit = 0.0
        # started now, so it imports TensorFlow while the first candidate trains
        self.pool: Any = fold_pool.open_background(problem.folds, log_dir)

    def update(self, study: Any) -> None:
        from tuner.pipeline import fit_seconds_limit
        from tuner.sweep.final_ranking import _epochs, current_scores, requests

        if self.pool is None:
            return
        self._collect()
        if self.running is not None:
            return  # one at a time, so the next is the rule's first on the trials recorded by then
        _, recs, _, scores = current_scores(study)
        wanted = requests(scores, self.k, self.known, 1)
        if not wanted:
            return
        n, fold = wanted[0]
        limit = fit_seconds_limit(self.problem)
        self.pool.start((n, fold), recs[n].params, fold - 2, limit, _epochs(recs[n]))
        self.running = (n, fold)

    def _collect(self) -> None:
        if self.pool is None:
            return
        for item, result in self.pool.finished():
            self.running = None
            if isinstance(result, BaseException):  # the final ranking trains it again (and scores a failure 0)
                log.warning("trial %d: fold %d trained ahead failed (%s)", item[0], item[1], result)
                continue
            self.known[item] = float(result[0])
            self.fit += float(result[1])

    def handover(self) -> tuple[dict[tuple[int, int], float], float]:
        """The folds trained so far and their fit seconds; the process is stopped."""
        self._collect()
        self.close()
        return dict(self.known), self.fit

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None
