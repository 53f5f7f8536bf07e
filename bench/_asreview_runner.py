"""Run ONE ASReview simulation with its default model; executed by bench/.venv-asreview/bin/python, never .venv.

Usage: python _asreview_runner.py DATA.csv --prior-idx I J ... --seed S [--ai elas_u4]
Prints one JSON object on stdout: asreview version, model, the row labels as ASReview read them, and the
row indices in the order screened (priors first; stops at the last include, ASReview's default stopper).
The active-learning cycles are built exactly as ``asreview simulate`` builds them (asreview/simulation/cli.py):
top-down until the model can be fitted, then the ``--ai`` model. Every non-loopback connection attempt is
refused, so a run that needed the network fails instead of quietly fetching something.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import ipaddress
import json
import socket
import sys
import time
from pathlib import Path

_attempts: list[str] = []
_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> object:
    """Refuse any connection that does not go to 127.0.0.0/8 or ::1 (proves the run is offline)."""
    if isinstance(address, tuple) and address:
        host = str(address[0])
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = host == "localhost"
        if not ok:
            _attempts.append(host)
            raise OSError(f"benchmark is offline: refused connection to {address}")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, simulate, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--prior-idx", type=int, nargs="+", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--ai", default=None, help="ASReview model config name (default: ASReview's default)")
    args = parser.parse_args(argv)

    import asreview
    import numpy as np
    from asreview import load_dataset
    from asreview.learner import ActiveLearningCycle
    from asreview.models.models import get_ai_config
    from asreview.models.queriers import TopDown
    from asreview.models.stoppers import IsFittable, LastRelevant
    from asreview.simulation.simulate import Simulate

    ai = get_ai_config(args.ai.lower()) if args.ai else get_ai_config()
    np.random.seed(args.seed)  # what `asreview simulate --seed S` does
    started, cpu = time.perf_counter(), time.process_time()
    with load_dataset(args.dataset, dataset_id=args.dataset.name) as db:
        labels = [int(v) for v in db.input["included"]]
        cycles = [ActiveLearningCycle(querier=TopDown(), stopper=IsFittable()),
                  ActiveLearningCycle.from_meta(ai["value"])]
        sim = Simulate(db.input.get_df(), db.input["included"], cycles, stopper=LastRelevant(),
                       print_progress=False)
        sim.label(args.prior_idx)
        with contextlib.redirect_stdout(io.StringIO()):  # Simulate prints loss/NDCG; keep stdout JSON only
            sim.review()
        order = [int(i) for i in sim._results["record_id"]]
    out = {"asreview": asreview.__version__, "ai": ai["name"], "labels": labels, "order": order,
           "seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
           "refused_connections": _attempts}
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
