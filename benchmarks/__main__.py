"""``python -m benchmarks [--quick]``: run every workload against the peers, the compile-time
scaling study and the op-count ratios, then write ``docs/performance.md`` and its plots, and
(a full run of every workload into docs/) the README's results table.
It reports; it never fails a build (the exit status is 0 whatever the targets say)."""

from __future__ import annotations

import argparse
import os
import sys
import time

from . import compile_scaling, readme, report, sparse_hessian, tracing, verification
from .suite import WORKLOADS, run_suite
from .timing import load_average, machine_info


def _readme(results: list, settings: str) -> None:
    """The README's table; a README without its markers is reported, not raised, so that the
    rest of a long run still prints."""
    block = readme.readme_block(results, settings, time.strftime("%Y-%m-%d"), machine_info())
    try:
        readme.update_readme(readme.README, block)
    except ValueError as e:
        print(f"\nREADME not updated: {e}", flush=True)
    else:
        print(f"\nwrote the results table of {os.path.normpath(readme.README)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, shorter budget")
    ap.add_argument("--budget", type=float, help="seconds a peer may take for one size")
    ap.add_argument("--max-nodes", type=int, help="largest graph of the compile-scaling study")
    ap.add_argument("--only", nargs="*", choices=list(WORKLOADS), help="run only these workloads")
    ap.add_argument("--no-scaling", action="store_true", help="skip the compile-scaling study")
    ap.add_argument("--no-verification", action="store_true", help="skip the sg.verify workloads")
    ap.add_argument("--no-sparse", action="store_true", help="skip sparse Hessians and hvp")
    ap.add_argument("--no-tracing", action="store_true", help="skip the tracing measurements")
    ap.add_argument("--no-readme", action="store_true", help="leave README.md's table alone")
    ap.add_argument("--out", default=readme.DOCS)
    a = ap.parse_args(argv)
    budget = a.budget or (5.0 if a.quick else 30.0)
    max_nodes = a.max_nodes or (128_000 if a.quick else 1_024_000)
    t0 = time.perf_counter()
    load0 = load_average()
    print(f"workloads (budget {budget:.0f} s per peer and size):", flush=True)
    results = run_suite(a.quick, budget, log=lambda s: print(s, flush=True), workloads=a.only)
    scaling: list[dict] = []
    if not a.no_scaling:
        print("\ncompile time as the graph doubles:", flush=True)
        scaling = compile_scaling.scaling(max_nodes, log=lambda s: print(s, flush=True))
    ratios = compile_scaling.op_ratios()
    os.makedirs(a.out, exist_ok=True)
    pngs = report.plots(results, scaling, a.out)
    scope = f"workloads {' '.join(a.only)}" if a.only else "every workload"
    study = "no compile-scaling study" if a.no_scaling else f"scaling up to {max_nodes:,} nodes"
    settings = (
        f"{'--quick' if a.quick else 'full'} run of {scope}, budget {budget:.0f} s, "
        f"{study}, {time.perf_counter() - t0:.0f} s in all; load average "
        f"{load0} at the start, {load_average()} at the end"
    )
    path = os.path.join(a.out, "performance.md")
    report.write(path, results, scaling, ratios, machine_info(), settings, pngs)
    if not a.no_sparse:  # its own section, appended to the file just written
        print("\nsparse Hessians and Hessian-vector products:", flush=True)
        load = load_average()
        found = sparse_hessian.run(a.quick, log=lambda s: print(s, flush=True))
        load = f"{load} at the start, {load_average()} at the end"
        sparse_hessian.write(path, sparse_hessian.markdown(found, machine_info(), load))
    if not a.no_readme and readme.wanted(a.quick, a.only, a.out):
        _readme(results, settings)
    targets = report.targets(results, scaling)
    if not a.no_tracing:
        print("\ntracing NumPy code (benchmarks/tracing.py):", flush=True)
        sections = tracing.run(a.quick, log=lambda s: print(s, flush=True))
        targets += tracing.targets(sections)
    print("\ntargets:")
    for name, met, what in targets:
        status = "not measured" if met is None else ("met" if met else "MISSED")
        print(f"  [{status}] {name}: {what}")
    if not a.no_verification:
        print("\nsg.verify against the 50-digit oracle (time and accuracy of each backend):")
        verification.run(a.quick, log=lambda s: print(s, flush=True))
    print(f"\nwrote {os.path.normpath(path)} and {', '.join(pngs) or 'no plots (no matplotlib)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
