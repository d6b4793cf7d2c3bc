"""The ``symgrad`` command line: grad, verify and demo, and hostile or broken formulas."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest
from helpers import needs_cc

import symgrad as sg
from symgrad import cli
from symgrad.parse import ParseError, parse


def run(argv, capsys):
    status = cli.main(argv)
    out = capsys.readouterr()
    return status, out.out, out.err


def load_module(source: str) -> dict:
    """Run a module that symgrad generated (our own output, not user text)."""
    ns: dict = {}
    exec(compile(source, "<generated>", "exec"), ns)
    return ns


# -- grad -----------------------------------------------------------------------------------------


def test_grad_prints_a_readable_runnable_module(capsys):
    status, out, err = run(["grad", "tanh(w*x + b)**2", "--wrt", "w", "b"], capsys)
    assert status == 0 and err == ""
    assert "def f(w, x, b):" in out and "tanh(" in out
    assert "import numpy" not in out
    f = load_module(out)["f"]
    value, (gw, gb) = f(0.5, 2.0, -0.3)
    w, x, b = sg.symbols("w x b")
    e = sg.tanh(w * x + b) ** 2
    env = {w: 0.5, x: 2.0, b: -0.3}
    assert math.isclose(value, sg.evaluate(e, env), rel_tol=1e-14)
    assert math.isclose(gw, sg.evaluate(sg.gradient(e, w), env), rel_tol=1e-14)
    assert math.isclose(gb, sg.evaluate(sg.gradient(e, b), env), rel_tol=1e-14)


def test_grad_hessian_and_numpy_backend(capsys):
    status, out, _ = run(["grad", "x**2*y", "--hessian", "--backend", "numpy"], capsys)
    assert status == 0 and "import numpy as np" in out
    value, grad, hess = load_module(out)["f"](3.0, 2.0)
    assert float(value) == 18.0
    assert [float(g) for g in grad] == [12.0, 9.0]
    assert [[float(h) for h in row] for row in hess] == [[4.0, 6.0], [6.0, 0.0]]


def test_grad_unknown_wrt_is_a_usage_error(capsys):
    status, out, err = run(["grad", "x*y", "--wrt", "z"], capsys)
    assert status == 2 and out == ""
    assert "z" in err and "x, y" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "text",
    [
        "x +",
        "3x",
        "tanh(x",
    ],
)
def test_syntax_error_is_one_clear_line(text, capsys):
    status, out, err = run(["grad", text], capsys)
    assert status == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "syntax error" in lines[0] and "Traceback" not in err


HOSTILE = [
    "__import__('os').system('touch {marker}')",
    "exec(\"open('{marker}', 'w')\")",
    "eval(\"open('{marker}', 'w')\")",
    "open('{marker}', 'w')",
    "().__class__.__bases__[0].__subclasses__()",
    "(lambda: open('{marker}', 'w'))()",
    "[open('{marker}', 'w') for _ in (1,)]",
    "x if open('{marker}', 'w') else y",
    "exp(x, key=open('{marker}', 'w'))",
    "exp(open('{marker}', 'w'))",
]


def test_hostile_expr_runs_nothing_and_exits_2(tmp_path):
    # The issue's own example, through the real command line in a fresh process.
    marker = tmp_path / "pwned"
    text = HOSTILE[0].format(marker=marker)
    for command in ("grad", "verify"):
        proc = subprocess.run(
            [sys.executable, "-m", "symgrad", command, text],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == ""
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert proc.stderr.startswith("symgrad: error: EXPR:")
        assert not marker.exists()


@pytest.mark.parametrize("template", HOSTILE)
def test_every_hostile_form_is_rejected_before_anything_runs(template, tmp_path, capsys):
    marker = tmp_path / "pwned"
    for command in ("grad", "verify"):
        status, out, err = run([command, template.format(marker=marker)], capsys)
        assert status == 2 and out == ""
        assert len(err.strip().splitlines()) == 1 and err.startswith("symgrad: error: EXPR:")
        assert not marker.exists()


def test_parser_accepts_the_formula_language_only():
    e, table = parse("where(x > 0, maximum(x, y), -abs(y)) + 2**-x / 3")
    assert list(table) == ["x", "y"]
    x, y = table["x"], table["y"]
    assert sg.evaluate(e, {x: 1.0, y: 4.0}) == pytest.approx(4.0 + 2**-1 / 3)
    assert sg.evaluate(e, {x: -1.0, y: 4.0}) == pytest.approx(-4.0 + 2 / 3)
    for bad, why in [
        ("x // 2", "//"),
        ("x == y", "=="),
        ("a < b < c", "chained"),
        ("exp", "function"),
        ("foo(x)", "unknown function"),
        ("maximum(x)", "2 arguments"),
        ("'x'", "not a real number"),
        ("True", "not a real number"),
        ("x[0]", "indexing"),
        ("x.real", "attribute"),
        ("not x", "unary"),
    ]:
        with pytest.raises(ParseError, match=why):
            parse(bad)


def test_names_are_labels_in_the_generated_code(capsys):
    status, out, _ = run(["grad", "def_ * __import__ + class_"], capsys)
    assert status == 0
    f = load_module(out)["f"]
    value, grads = f(2.0, 3.0, 5.0)
    assert value == 11.0 and grads == [3.0, 2.0, 1.0]


# -- verify ---------------------------------------------------------------------------------------


def test_verify_prints_the_report(capsys):
    status, out, err = run(["verify", "tanh(w*x + b)**2", "--wrt", "w", "b"], capsys)
    assert status == 0, err
    assert "d/dw" in out and "d/db" in out and "d/dx" not in out


def test_verify_mismatch_exits_1(capsys, monkeypatch):
    from symgrad.verification import check

    real = check.gradient

    def wrong(f, wrt):
        return [g * 1.5 for g in real(f, wrt)]

    monkeypatch.setattr(check, "gradient", wrong)
    status, out, err = run(["verify", "x**3 + x*y", "--wrt", "x"], capsys)
    assert status == 1 and out == ""
    assert "MISMATCH" in err and "d/dx" in err


# -- demo -----------------------------------------------------------------------------------------


def test_demo_short_run(capsys, tmp_path):
    plot = tmp_path / "loss.png"
    argv = ["demo", "--epochs", "4", "--samples", "25", "--seed", "3", "--show-code"]
    if cli._have_matplotlib():
        argv += ["--plot", str(plot)]
    status, out, err = run(argv, capsys)
    assert status == 0, out + err
    rows = [ln.split() for ln in out.splitlines() if re.match(r"\s+\d+\s+-?\d", ln)]
    assert [int(r[0]) for r in rows] == [0, 1, 2, 3]
    eager, compiled = [float(r[1]) for r in rows], [float(r[2]) for r in rows]
    assert all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(eager, compiled))
    # The first loss is the tutorial's network on the tutorial's data, computed independently.
    from symgrad.demo import tutorial_data

    xs, ys = tutorial_data(25, 3)
    m = sg.nn.MLP(3, [8, 8, 1], seed=3)
    assert math.isclose(eager[0], sum((m(x).data - y) ** 2 for x, y in zip(xs, ys)), rel_tol=1e-9)
    assert re.search(r"time per epoch: eager Value engine [\d.]+ ms, compiled", out)
    assert "agree to 1e-09" in out
    assert re.search(r"generated code: \d+ lines", out)
    assert "def f(" in out  # --show-code
    if "--plot" in argv:
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_plot_without_matplotlib_stops_before_running(capsys, monkeypatch, tmp_path):
    import symgrad.demo

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    ran = []
    monkeypatch.setattr(symgrad.demo, "run_demo", lambda **kw: ran.append(kw) or 0)
    status, out, err = run(["demo", "--plot", str(tmp_path / "loss.png")], capsys)
    assert status == 2 and out == "" and ran == []
    assert 'pip install "symgrad[plot]"' in err and "matplotlib" in err
    assert len(err.strip().splitlines()) == 1


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"symgrad {sg.__version__}"


def test_demo_backends_are_the_batched_backends():
    from symgrad import api

    assert set(cli.DEMO_BACKENDS) <= set(api.BACKENDS) and "python" not in cli.DEMO_BACKENDS


@needs_cc
def test_demo_backend_c_matches_the_eager_curve(capsys, c_cache):
    argv = ["demo", "--epochs", "3", "--samples", "10", "--backend", "c"]
    status, out, err = run(argv, capsys)
    assert status == 0, out + err
    assert "compiled (c)" in out and "agree to 1e-09" in out


def test_demo_backend_c_without_a_compiler_is_one_clear_line(capsys, monkeypatch, tmp_path):
    # An empty library cache: a library cached by an earlier demo would need no compiler.
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CC", raising=False)
    status, out, err = run(["demo", "--epochs", "1", "--samples", "3", "--backend", "c"], capsys)
    assert status == 2 and "Traceback" not in err
    assert "C compiler" in err and len(err.strip().splitlines()) == 1


def test_demo_default_learning_rate_trains_smoothly():
    """The tutorial's data and model at the demo's default rate: the summed error falls at every
    epoch (no spike), to under a third of where it started, for several seeds."""
    from symgrad import demo

    for seed in (0, 1, 2):
        xs, ys = demo.tutorial_data(100, seed)
        model = sg.nn.MLP(3, [8, 8, 1], seed=seed)
        run_, _ = demo.train_compiled(
            demo.compile_step(model, 3), model.values(), xs, ys, 150, demo.LR
        )
        losses = run_.losses
        worst = max(b / a for a, b in zip(losses, losses[1:]))
        assert worst <= 1.0, (seed, worst)
        assert losses[-1] < losses[0] / 3, (seed, losses[0], losses[-1])


def test_demo_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "--epochs", "0"])
    assert exc.value.code == 2
    assert "--epochs" in capsys.readouterr().err


def test_progress_line_for_long_runs(monkeypatch):
    import io

    from symgrad import demo

    stream = io.StringIO()  # not a TTY: whole lines, not redrawn ones
    monkeypatch.setattr(demo, "PROGRESS_AFTER", 0.0)
    bar = demo.Progress(stream, "eager Value engine", 10)
    for epoch in range(1, 11):
        bar.update(epoch, 100.0 / epoch)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("  eager Value engine: epoch 1/10, loss 100")
    assert lines[-1].startswith("  eager Value engine: epoch 10/10, loss 10")
    quiet = io.StringIO()
    monkeypatch.setattr(demo, "PROGRESS_AFTER", 3600.0)  # a short run shows nothing
    bar = demo.Progress(quiet, "compiled", 10)
    for epoch in range(1, 11):
        bar.update(epoch, 1.0)
    assert quiet.getvalue() == ""


def test_console_script_points_at_main():
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "symgrad"]
    assert ep.value == "symgrad.cli:main" and ep.load() is cli.main
