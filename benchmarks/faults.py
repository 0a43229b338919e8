"""Faults under load: each fault during a `tuner sweep` (the CLI, real runner, workers, storage and
recording; the fault pipeline of tests/_faults.py), then what the study holds.

Rows: a candidate with NaN loss, a converter crash, a candidate over the workers' memory limit
(TUNER_WORKER_MEMORY_MB), a candidate that SIGKILLs its worker (as the kernel's OOM killer does),
SIGKILL of one of 4 workers on PostgreSQL mid-trial (repeated --kills times), and a full disk while
writing trials' files (a real tmpfs when it can be mounted, i.e. as root; else ENOSPC injected at
the write). Every sweep is a grid over --trials candidates, so each candidate runs once.

    python benchmarks/faults.py [--trials 32] [--kills 3] [--postgres URL]

Columns: trials (counted toward --trials), kills (worker processes that died), faults (trials
recorded as failed), requeued (trials of a dead worker run again), lost, duplicated.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests._faults import audit, space, worker_env  # noqa: E402

CLI = [sys.executable, "-c", "import tuner.cli as c; getattr(c, 'entry', c.main)()"]


def sweep(
    kind: str,
    root: Path,
    trials: int,
    faulty: str,
    workers: int = 2,
    storage: str | None = None,
    epoch_s: float = 0.2,
    results: Path | None = None,
    kills: int = 0,
    **env: str,
) -> dict:
    import optuna

    name = f"{kind}-{int(time.time() * 1000) % 10**8}"
    results = results or root / "results"
    (root / "faults.yaml").write_text(space(trials))
    e = worker_env(kind, epoch_s, TUNER_RESULTS=str(results), TUNER_FAULT_WIDTHS=faulty, **env)
    storage = storage or f"sqlite:///{root / (name + '.db')}"
    cmd = CLI + ["sweep", "--name", name, "--space", str(root / "faults.yaml"), "--engine", "grid"]
    cmd += ["--trials", str(trials), "--workers", str(workers), "--storage", storage]
    killed: list[int] = []
    stop = threading.Event()

    def killer() -> None:  # SIGKILL a worker mid-trial, every few seconds, `kills` times
        from sqlalchemy.exc import SQLAlchemyError

        rdb = None  # one storage (one connection pool) for the whole watch
        while not stop.is_set() and len(killed) < kills:
            try:
                rdb = rdb or optuna.storages.RDBStorage(storage)
                study = optuna.load_study(study_name=name, storage=rdb)
                running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
            except (KeyError, SQLAlchemyError):
                running = []
            for t in running:
                pid = t.system_attrs.get("worker", ":").rsplit(":", 1)[1]
                started = t.datetime_start and (time.time() - t.datetime_start.timestamp()) > epoch_s
                # not a re-run: a second kill of the same candidate fails it (the rule for candidates that kill)
                if pid.isdigit() and started and "retry_of" not in t.user_attrs:
                    os.kill(int(pid), signal.SIGKILL)
                    killed.append(t.number)
                    stop.wait(3 * epoch_s * 3)
                    break
            stop.wait(0.2)

    thread = threading.Thread(target=killer)
    thread.start()
    start = time.time()
    run = subprocess.run(cmd, env=e, capture_output=True, text=True)
    seconds = time.time() - start
    stop.set()
    thread.join()
    study = optuna.load_study(study_name=name, storage=storage)
    logs = results / name / "workers"
    restarts = sum(p.read_text(errors="replace").count("; restarting it") for p in logs.glob("*.log"))
    row = audit(study, trials)
    row.update(kills=max(restarts, len(killed)), exit=run.returncode, seconds=seconds)
    if run.returncode != 0:
        row["reasons"] = row["reasons"] + [run.stderr.strip().splitlines()[-1][:200] if run.stderr.strip() else ""]
    return row


def mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    return r.returncode == 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=32)
    ap.add_argument("--kills", type=int, default=3, help="SIGKILLs of a worker in the PostgreSQL row")
    ap.add_argument(
        "--postgres", default=os.environ.get("TUNER_TEST_POSTGRES"), help="PostgreSQL URL (row skipped without)"
    )
    ap.add_argument("--only", nargs="*", help="run only these rows (nan convert oom die sigkill disk)")
    args = ap.parse_args()
    n = args.trials
    faulty = ",".join(str(w) for w in range(24, 8 * n + 1, 64))  # every 8th candidate, from width 24
    rows = []
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        plan = {
            "nan": lambda: sweep("nan", root, n, faulty),
            "convert": lambda: sweep("convert", root, n, faulty),
            "oom": lambda: sweep("oom", root, n, faulty, TUNER_WORKER_MEMORY_MB="4000"),
            "die": lambda: sweep("die", root, n, faulty),
        }
        if args.postgres:
            plan["sigkill"] = lambda: sweep(
                "none", root, n, "", workers=4, storage=args.postgres, epoch_s=0.5, kills=args.kills
            )
        tmpfs = root / "tmpfs"
        if mount_tmpfs(tmpfs, "2m"):  # room for ~6 trials of 256 kB; the study lives outside it
            how = "tmpfs 2 MB"
            plan["disk"] = lambda: sweep("disk", root, n, "", workers=1, results=tmpfs, TUNER_FAULT_BLOB="262144")
        else:
            how = "ENOSPC injected"
            plan["disk"] = lambda: sweep("disk-injected", root, n, faulty, workers=1)
        try:
            for fault, fn in plan.items():
                if args.only and fault not in args.only:
                    continue
                label = {"sigkill": "SIGKILL 1 of 4 workers (PostgreSQL)", "disk": f"full disk ({how})"}.get(
                    fault, fault
                )
                print(f"running: {label} ...", file=sys.stderr, flush=True)
                rows.append((label, fn()))
        finally:
            if how.startswith("tmpfs"):
                subprocess.run(["umount", str(tmpfs)], check=False)
    cols = ("trials", "kills", "faults", "requeued", "lost", "duplicated")
    head = f"{'fault':<40} " + " ".join(f"{c:>10}" for c in cols) + f" {'seconds':>8}"
    print(head)
    print("-" * len(head))
    for label, r in rows:
        print(f"{label:<40} " + " ".join(f"{r[c]:>10}" for c in cols) + f" {r['seconds']:>8.0f}")
    print()
    for label, r in rows:
        print(f"{label}: exit {r['exit']}; failed because: {'; '.join(r['reasons']) or '-'}")


if __name__ == "__main__":
    main()
