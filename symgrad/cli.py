"""The ``symgrad`` command line: ``demo``, ``grad`` and ``verify``.

A formula given on the command line is parsed by ``symgrad.parse`` (numbers, names, operators
and the op table's functions only) and never evaluated as Python. Exit status: 0 success,
1 a check failed (a derivative or the demo's loss curves disagree), 2 bad input (usage or
parse error), 3 ``verify`` could not decide within its time budget. ``verify`` never shows a
traceback: whatever goes wrong inside it is reported in one line with one of these statuses.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

USAGE_ERROR = 2
CHECK_FAILED = 1
# The batched backends the demo can train with (tests check these against the backend table).
DEMO_BACKENDS = ("numpy", "c")
PLOT_INSTALL = 'python -m pip install "symgrad[plot]"'
UNDECIDED = 3
VERIFY_EPILOG = """exit status:
  0  every derivative verified
  1  a mismatch: a derivative (or the compiled program) disagrees with the reference
  2  usage or parse error (a bad option, a formula symgrad does not accept)
  3  could not decide within the time budget (or no point where the derivative is defined)

Each derivative is proved by SymPy where it can within --symbolic-time seconds, else checked by
forward mode in 50-digit arithmetic; the compiled gradient is run and its error is reported in
ulps against the same oracle."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not the whole usage block
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return n


def _learning_rate(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (x > 0 and math.isfinite(x)):
        raise argparse.ArgumentTypeError(f"{text} must be a positive, finite number")
    return x


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="symgrad",
        description="Symbolic gradients compiled to readable code, checked against SymPy.",
    )
    from . import __version__

    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="{demo,grad,verify}", parser_class=_Parser)
    sub.required = True

    _demo_parser(sub)
    for name, what in (
        ("grad", "print the generated code of f and its gradient"),
        ("verify", "check the gradient of f against SymPy"),
    ):
        g = sub.add_parser(
            name,
            help=what,
            description=what[0].upper() + what[1:] + ".",
            epilog=VERIFY_EPILOG if name == "verify" else None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        g.add_argument("expr", metavar="EXPR", help="a formula, e.g. 'tanh(w*x + b)**2'")
        g.add_argument(
            "--wrt",
            nargs="+",
            metavar="NAME",
            help="the variables to differentiate by (default: every variable of EXPR)",
        )
        if name == "grad":
            g.add_argument("--hessian", action="store_true", help="also the Hessian")
            g.add_argument("--backend", choices=("python", "numpy"), default="python")
        if name == "verify":
            _verify_options(g)
    return p


def _demo_parser(sub) -> None:
    """The ``demo`` command and its options."""
    from .demo import LR

    d = sub.add_parser(
        "demo",
        help="train the micrograd tutorial's MLP, eager vs compiled",
        description="Train the tutorial's MLP(3, [8, 8, 1]) with the eager Value engine and "
        "with one compiled value-and-gradient function, from the same weights; print both loss "
        "curves, the time per epoch of each and the size of the generated code.",
    )
    d.add_argument("--epochs", type=_positive_int, default=50, help="epochs (default 50)")
    d.add_argument("--lr", type=_learning_rate, default=LR, help=f"learning rate ({LR:g})")
    d.add_argument("--seed", type=int, default=0, help="seed of data and weights (default 0)")
    d.add_argument(
        "--eager-epochs",
        type=int,
        default=None,
        metavar="N",
        help="run the (slow) eager engine for the first N epochs only (default: all)",
    )
    d.add_argument("--samples", type=_positive_int, default=100, help="data points (100)")
    d.add_argument(
        "--backend",
        choices=DEMO_BACKENDS,
        default="numpy",
        help="the backend of the compiled step (default numpy; c needs a C compiler)",
    )
    d.add_argument(
        "--plot", metavar="FILE", help="write the loss curves to FILE (PNG; needs matplotlib)"
    )
    d.add_argument("--show-code", action="store_true", help="print the generated code")


def _fail(message: str, status: int = USAGE_ERROR) -> int:
    print(f"symgrad: error: {message}", file=sys.stderr)
    return status


def _formula(text: str, wrt: list[str] | None):
    """(expression, its symbols in order of appearance, the wrt symbols); ParseError/KeyError."""
    from .parse import parse

    e, table = parse(text)
    if wrt is None:
        if not table:
            raise ValueError("EXPR has no variables to differentiate by")
        return e, list(table.values()), list(table.values())
    missing = [w for w in wrt if w not in table]
    if missing:
        have = ", ".join(table) or "none"
        raise ValueError(
            f"--wrt {' '.join(missing)}: not a variable of EXPR (its variables: {have})"
        )
    if len(set(wrt)) != len(wrt):
        raise ValueError("--wrt names a variable twice; name each once")
    return e, list(table.values()), [table[w] for w in wrt]


def cmd_grad(args: argparse.Namespace) -> int:
    from . import api, autodiff
    from .parse import ParseError

    try:
        f, inputs, wrt = _formula(args.expr, args.wrt)
    except (ParseError, ValueError) as exc:
        return _fail(f"EXPR: {exc}")
    outputs = [f, autodiff.gradient(f, wrt)]
    if args.hessian:
        outputs.append(autodiff.hessian(f, wrt))
    fn = api.compile(inputs, outputs, backend=args.backend)
    what = "[f, gradient" + (", hessian]" if args.hessian else "]")
    sys.stdout.write(f"# returns {what}; gradient by {', '.join(s.payload for s in wrt)}\n")
    sys.stdout.write(fn.source)
    return 0


def _verify_options(g: argparse.ArgumentParser) -> None:
    g.add_argument("--points", type=_positive_int, default=3, help="random points (3)")
    g.add_argument("--seed", type=int, default=0, help="seed of the points (0)")
    g.add_argument(
        "--time-budget", type=_seconds, default=60.0, metavar="S", help="seconds in all (60)"
    )
    g.add_argument(
        "--symbolic-time", type=_seconds, default=5.0, metavar="S", help="seconds for SymPy (5)"
    )


def _seconds(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (x >= 0 and math.isfinite(x)):
        raise argparse.ArgumentTypeError(f"{text} must be 0 or more seconds")
    return x


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify each derivative (SymPy, else the oracle) and the compiled gradient (ulps)."""
    from .parse import ParseError

    try:
        f, inputs, wrt = _formula(args.expr, args.wrt)
    except (ParseError, ValueError, RecursionError, MemoryError) as exc:
        return _fail(f"EXPR: {exc}")
    try:
        return _verify(args, f, inputs, wrt)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # never a traceback: an unforeseen failure is "not decided"
        return _fail(f"could not decide: {type(exc).__name__}: {str(exc)[:300]}", UNDECIDED)


def _verify(args: argparse.Namespace, f, inputs, wrt) -> int:
    import time

    from . import api, autodiff, errors
    from .verification import verify

    start = time.monotonic()
    try:
        report = verify(
            f, wrt, points=args.points, seed=args.seed, time_budget=args.time_budget,
            symbolic_time=args.symbolic_time,
        )  # fmt: skip
        left = max(0.0, args.time_budget - (time.monotonic() - start))
        fn = api.compile(
            inputs, autodiff.gradient(f, wrt), backend=getattr(args, "backend", None) or "python"
        )
        program = verify(fn, points=args.points, seed=args.seed, time_budget=left)
    except errors.VerificationError as exc:
        print(f"symgrad: MISMATCH: {exc}", file=sys.stderr)
        return CHECK_FAILED
    except NotImplementedError as exc:
        return _fail(f"cannot verify: {exc}", UNDECIDED)
    undecided = not report.ok or not program.decided
    shown = args.expr if len(args.expr) <= 60 else args.expr[:57] + "..."
    print(("could not decide every derivative of" if undecided else "verified") + f" {shown}")
    for check, out in zip(report, program):
        how = {"symbolic": "proved by SymPy", "numeric": "forward-mode oracle, 50 digits"}
        what = how.get(check.method, f"UNDECIDED ({check.note})")
        ulps = f"{out.max_ulps:.3g} ulps max" if out.points else "not run (no defined point)"
        if out.points and out.max_scaled_ulps < out.max_ulps:  # an entry near 0: its scale's
            ulps += f" ({out.max_scaled_ulps:.3g} norm-wise)"
        print(f"  d/d{check.name}: {what}; compiled ({program.backend}): {ulps}")
    if program.out_of_budget:
        print(f"  out of budget: {program.out_of_budget}")
    return UNDECIDED if undecided else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    if args.eager_epochs is not None and args.eager_epochs < 0:
        return _fail("--eager-epochs must be 0 or more")
    if args.plot and not _have_matplotlib():  # before anything runs, not after the training
        return _fail(f"--plot needs matplotlib, which is not installed; get it with {PLOT_INSTALL}")
    try:
        return run_demo(
            epochs=args.epochs,
            lr=args.lr,
            seed=args.seed,
            eager_epochs=args.eager_epochs,
            samples=args.samples,
            plot=args.plot,
            show_code=args.show_code,
            backend=args.backend,
        )
    except FileNotFoundError as exc:  # no C compiler for --backend c, a --plot FILE's folder
        return _fail(str(exc))


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``symgrad`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    handler = {"demo": cmd_demo, "grad": cmd_grad, "verify": cmd_verify}[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:  # `symgrad grad ... | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
