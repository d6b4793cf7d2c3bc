"""``symgrad demo``: the tutorial's training, eager and compiled, side by side.

The tutorial trains ``MLP(3, [8, 8, 1])`` on ``f(x, y, z) = 0.04x² + 0.07xy − z + noise`` with
full-batch gradient descent on the summed squared error. The demo runs that loop twice from the
same initial weights: once with the eager ``Value`` engine (micrograd's way), once with one
compiled function that returns the loss and its gradient for the whole data set, then prints
both loss curves, the time per epoch of each, and the generated code's size.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from . import api, autodiff
from .expr import Symbol, symbols
from .nn import MLP

TOLERANCE = 1e-9
# Full-batch descent on the summed error: at 0.001 (the tutorial's rate) the loss falls for ten
# epochs, then jumps (70 at epoch 10, 176 at epoch 15, seed 0); at 2.5e-4 it fell at every one
# of 200 epochs for seeds 0-4. The eager and compiled runs take the same steps either way.
LR = 2.5e-4
SPEEDUP_GOAL = 30.0
PROGRESS_AFTER = 2.0  # seconds: a phase expected to take longer shows a progress line


def tutorial_data(n: int = 100, seed: int = 0) -> tuple[list[list[float]], list[float]]:
    """The tutorial's data: ``n`` points of ``0.04x² + 0.07xy − z + gauss(0, 1)/5``."""
    rng = random.Random(seed)
    xs = [[rng.uniform(-5, 5) for _ in range(3)] for _ in range(n)]
    ys = [0.04 * x**2 + 0.07 * y * x - z + rng.gauss(0, 1) / 5 for x, y, z in xs]
    return xs, ys


@dataclass
class Run:
    """One training run: the loss before each update, and the seconds each epoch took."""

    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def per_epoch(self) -> float:
        return self.seconds / max(1, len(self.losses))


class Progress:
    """One status line on ``stream`` for phases long enough to need it (redrawn on a TTY)."""

    def __init__(self, stream: TextIO, label: str, total: int) -> None:
        self.stream, self.label, self.total = stream, label, total
        self.start = time.perf_counter()
        self.shown = False
        self.last = 0.0
        self.tty = bool(getattr(stream, "isatty", lambda: False)())

    def update(self, done: int, loss: float) -> None:
        now = time.perf_counter()
        elapsed = now - self.start
        expected = elapsed / done * self.total
        if expected < PROGRESS_AFTER:
            return
        if done < self.total and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        self.shown = True
        eta = expected - elapsed
        line = f"  {self.label}: epoch {done}/{self.total}, loss {loss:.6g}, {eta:.0f} s left"
        self.stream.write(("\r" + line.ljust(78)) if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def train_eager(
    model: MLP, xs: list, ys: list, epochs: int, lr: float, progress: Progress | None = None
) -> Run:
    """The tutorial's loop, verbatim in spirit: forward every sample, backward, step, zero."""
    run = Run()
    params = model.parameters()
    for epoch in range(epochs):
        t0 = time.perf_counter()
        loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys))
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
            p.grad = 0.0
        run.seconds += time.perf_counter() - t0
        run.losses.append(loss.data)
        if progress:
            progress.update(epoch + 1, loss.data)
    return run


def compile_step(model: MLP, nin: int, backend: str = "numpy") -> api.CompiledFunction:
    """One function ``(theta, X, Y) -> (total loss, gradient)`` for the whole data set.

    The model is called once on symbols: that builds one sample's squared error as an
    expression, which is differentiated and compiled with the batch axis summed away.
    """
    x = list(symbols(f"x0:{nin}"))
    y = Symbol("y")
    loss = (model(x) - y) ** 2
    params = model.symbols()
    return api.compile(
        [params, x, y], [loss, autodiff.gradient(loss, params)], backend=backend, reduce="sum"
    )


def train_compiled(
    step: Callable[..., Any],
    theta: list[float],
    xs: list,
    ys: list,
    epochs: int,
    lr: float,
    progress: Progress | None = None,
) -> tuple[Run, np.ndarray]:
    """Gradient descent on the compiled step; returns the run and the final parameters."""
    run = Run()
    th = np.array(theta, dtype=np.float64)
    X = np.asarray(xs, dtype=np.float64)
    Y = np.asarray(ys, dtype=np.float64)
    for epoch in range(epochs):
        t0 = time.perf_counter()
        total, grad = step(th, X, Y)
        th = th - lr * np.asarray(grad, dtype=np.float64)
        run.seconds += time.perf_counter() - t0
        run.losses.append(float(total))
        if progress:
            progress.update(epoch + 1, float(total))
    return run, th


def relative_gap(a: list[float], b: list[float]) -> float:
    """The largest |a - b| / max(1, |a|) over two loss curves (their common epochs)."""
    return max((abs(x - y) / max(1.0, abs(x)) for x, y in zip(a, b)), default=0.0)


def _rows(n: int, limit: int = 25) -> list[int]:
    if n <= limit + 5:
        return list(range(n))
    step = math.ceil(n / limit)
    return sorted(set(range(0, n, step)) | {n - 1})


def run_demo(
    epochs: int = 50,
    lr: float = LR,
    seed: int = 0,
    eager_epochs: int | None = None,
    samples: int = 100,
    plot: str | None = None,
    show_code: bool = False,
    backend: str = "numpy",
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the demo, print its report to ``out`` (default: the current ``sys.stdout``, looked up
    at the call); the exit status (1 if the curves disagree)."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    say = lambda *a: print(*a, file=out, flush=True)
    xs, ys = tutorial_data(samples, seed)
    model = MLP(3, [8, 8, 1], seed=seed)
    theta0 = model.values()
    n_eager = epochs if eager_epochs is None else min(epochs, eager_epochs)
    say(
        f"symgrad demo: the tutorial's MLP(3, [8, 8, 1]) ({len(theta0)} parameters) learns\n"
        f"  f(x, y, z) = 0.04x² + 0.07xy − z + noise from {samples} samples: full-batch gradient\n"
        f"  descent on the summed squared error, lr {lr:g}, {epochs} epochs, seed {seed}.\n"
    )

    t0 = time.perf_counter()
    step = compile_step(model, 3, backend)
    compile_s = time.perf_counter() - t0

    bar = Progress(err, "eager Value engine", n_eager) if n_eager else None
    eager = train_eager(model, xs, ys, n_eager, lr, bar)
    if bar:
        bar.close()
    bar = Progress(err, "compiled", epochs)
    comp, theta = train_compiled(step, theta0, xs, ys, epochs, lr, bar)
    bar.close()
    model.set_values(theta)

    _loss_table(say, eager.losses, comp.losses)
    status = _compare(say, eager, comp, epochs, step.backend)
    say(
        f"compiling once took {compile_s * 1e3:.0f} ms; the whole compiled training "
        f"{comp.seconds * 1e3:.0f} ms"
    )
    src = step.source
    say(
        f"generated code: {src.count(chr(10))} lines, {len(src) / 1000:.1f} kB, "
        f"{step.stats['ops']} operations for loss and {len(theta0)} gradients; "
        + ("printed below" if show_code else "read it with: symgrad demo --show-code")
    )
    if plot:
        _plot(plot, eager.losses, comp.losses, say, err)
    if show_code:
        say()
        say(src)
    return status


def _loss_table(say: Callable, eager: list[float], comp: list[float]) -> None:
    say(f"{'epoch':>6}  {'eager Value loss':>20}  {'compiled loss':>20}  {'|difference|':>12}")
    for i in _rows(len(comp)):
        c = comp[i]
        if i < len(eager):
            say(f"{i:>6}  {eager[i]:>20.12f}  {c:>20.12f}  {abs(eager[i] - c):>12.1e}")
        else:
            say(f"{i:>6}  {'':>20}  {c:>20.12f}")
    say()


def _compare(say: Callable, eager: Run, comp: Run, epochs: int, backend: str) -> int:
    """Print time per epoch and how well the curves agree; 1 if they disagree, else 0."""
    n_eager = len(eager.losses)
    if not n_eager:
        say(f"time per epoch: compiled ({backend}) {comp.per_epoch * 1e3:.3f} ms")
        return 0
    speedup = eager.per_epoch / comp.per_epoch if comp.per_epoch > 0 else math.inf
    say(
        f"time per epoch: eager Value engine {eager.per_epoch * 1e3:.2f} ms, "
        f"compiled ({backend}) {comp.per_epoch * 1e3:.3f} ms: {speedup:.0f}x faster"
        + ("" if speedup >= SPEEDUP_GOAL else f" (below the {SPEEDUP_GOAL:.0f}x goal)")
    )
    gap = relative_gap(eager.losses, comp.losses)
    agree = gap <= TOLERANCE
    say(
        f"loss curves over {n_eager} epochs: largest relative difference {gap:.1e} "
        f"({'agree' if agree else 'DISAGREE'} to {TOLERANCE:g})"
    )
    if n_eager < epochs:
        say(
            f"(the eager engine ran the first {n_eager} of {epochs} epochs; "
            "--eager-epochs sets how many)"
        )
    return 0 if agree else 1


def _plot(path: str, eager: list[float], comp: list[float], say, err: TextIO) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "no plot: matplotlib is not installed; get it with "
            "python -m pip install 'symgrad[plot]'",
            file=err,
        )
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(len(comp)), comp, label="compiled", linewidth=2)
    if eager:
        ax.plot(range(len(eager)), eager, "--", label="eager Value engine")
    ax.set_xlabel("epoch")
    ax.set_ylabel("summed squared error")
    ax.set_yscale("log")
    ax.set_title("symgrad demo: the tutorial's MLP")
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    say(f"loss curves plotted to {path}")
