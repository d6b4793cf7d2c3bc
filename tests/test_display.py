"""Notebook views: Expr as LaTeX and SVG, CompiledFunction as HTML, DOT text that renders."""

from __future__ import annotations

import html
import re
import shutil
import sys

import pytest
from helpers import HAVE_CC

import symgrad as sg
from symgrad import display
from symgrad.errors import GraphvizNotFoundError

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="Graphviz's dot is not on PATH")


def shared_tower(depth: int):
    """A DAG of 2*depth + 1 nodes whose tree has ~2**depth: each level uses the last twice."""
    (x,) = sg.symbols("x:1")
    e = x
    for _ in range(depth):
        e = sg.sin(e) * sg.sin(e) + e
    return x, e


# -- LaTeX ----------------------------------------------------------------------------------------


def test_latex_is_sympys_latex_between_dollars():
    x, y = sg.symbols("x y")
    text = (sg.tanh(x * y) + x**2)._repr_latex_()
    assert text.startswith("$") and text.endswith("$") and text.count("$") == 2
    assert r"\tanh" in text and "x^{2}" in text


@pytest.mark.parametrize(
    "label, shown",
    [
        ("w0", "w_{0}"),
        ("alpha", r"\alpha"),
        ("a b", r"\text{a b}"),
        ("x[0]", r"\text{x[0]}"),
        ("a{b", r"\text{a}\{\text{b}"),
        (r"\frac{1}{2}", r"\backslash \text{frac}\{"),
    ],
)
def test_latex_shows_a_label_as_its_characters(label, shown):
    """A label is text, never LaTeX: ``a b`` is not a times b, ``\\frac{1}{2}`` is no fraction
    and ``a{b`` leaves the braces balanced."""
    text = (sg.exp(sg.Symbol(label)) + 1)._repr_latex_()
    assert shown in text
    bare = re.sub(r"\\[{}]", "", text)  # escaped braces are characters, not groups
    assert bare.count("{") == bare.count("}")
    assert r"\frac{1}" not in text


def test_latex_is_none_where_the_tree_would_explode():
    x, e = shared_tower(40)  # 81 DAG nodes, ~10**12 as a tree
    assert e._repr_latex_() is None
    assert shared_tower(2)[1]._repr_latex_() is not None


def test_latex_without_sympy_is_none_not_an_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "sympy", None)
    x = sg.Symbol("x")
    assert sg.exp(x)._repr_latex_() is None


def test_latex_of_a_long_chain_is_none_without_recursion():
    x = sg.Symbol("x")
    e = x
    for i in range(20_000):
        e = e * 0.5 + float(i)
    assert e._repr_latex_() is None


# -- SVG and rendering ---------------------------------------------------------------------------


def test_svg_without_dot_is_none(monkeypatch):
    monkeypatch.setenv("PATH", "")
    x = sg.Symbol("x")
    assert sg.exp(x)._repr_svg_() is None


@needs_dot
def test_svg_draws_the_dag():
    x, y = sg.symbols("x y")
    svg = (sg.tanh(x * y) + x**2)._repr_svg_()
    assert "<svg" in svg and "</svg>" in svg
    assert ">tanh<" in svg and ">x<" in svg and ">y<" in svg


@needs_dot
def test_svg_is_none_past_its_size_bound():
    _, e = shared_tower(display.SVG_NODES)
    assert e._repr_svg_() is None


def test_to_dot_is_text_that_renders():
    x = sg.Symbol("x")
    dot = sg.to_dot([sg.exp(x) + 1, x])
    assert isinstance(dot, str) and dot.startswith("digraph symgrad {")
    assert str(dot).count("doublecircle") == 2 and callable(dot.render)


@needs_dot
@pytest.mark.parametrize(
    "suffix, magic", [(".png", b"\x89PNG\r\n\x1a\n"), (".svg", b"<?xml"), (".pdf", b"%PDF")]
)
def test_render_writes_the_format_of_the_suffix(tmp_path, suffix, magic):
    x, y = sg.symbols("x y")
    path = sg.to_dot(sg.tanh(x * y) + x**2).render(tmp_path / f"graph{suffix}")
    assert path.read_bytes().startswith(magic)


def test_render_without_graphviz_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")
    x = sg.Symbol("x")
    with pytest.raises(GraphvizNotFoundError) as exc:
        sg.to_dot(sg.exp(x)).render(tmp_path / "graph.png")
    assert isinstance(exc.value, FileNotFoundError)
    assert "apt-get install graphviz" in str(exc.value) and "dot" in str(exc.value)
    assert not (tmp_path / "graph.png").exists()


def test_render_names_the_suffixes_it_knows(tmp_path):
    x = sg.Symbol("x")
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf"):
        sg.to_dot(x).render(tmp_path / "graph.jpeg")


# -- CompiledFunction as HTML --------------------------------------------------------------------


def test_compiled_html_shows_escaped_source_and_op_counts():
    x, y = sg.symbols("x y")
    f = sg.where(x < y, sg.tanh(x * y), x**2)
    fn = sg.compile([x, y], [f, sg.gradient(f, [x, y])])
    page = fn._repr_html_()
    entry, rest = re.findall(r"<pre[^>]*><code>(.*?)</code></pre>", page, re.S)
    assert html.unescape(entry).startswith("def f(x, y):")  # the function first
    assert html.unescape(rest) + "\n" + html.unescape(entry) == fn.source.rstrip("\n")
    assert page.index(entry) < page.index("<details>") < page.index(rest)  # helpers folded
    assert "<" in fn.source and "<" not in entry + rest  # escaped: the source injects no markup
    first, total = fn.stats["forward_ops"], fn.stats["ops"]
    assert f"{total} ops, {first} for the first output (the forward value)" in page
    assert f"{total - first} for the rest (the backward pass" in page
    assert "backend <code>python</code>" in page and "f(x, y)" in page


@pytest.mark.parametrize("backend", ["numpy", "c"])
def test_compiled_html_shows_each_backends_entry_function_first(backend, c_cache):
    if backend == "c" and not HAVE_CC:
        pytest.skip("no C compiler")
    x, y = sg.symbols("x y")
    fn = sg.compile([x, y], [sg.exp(x) * y], backend=backend)
    entry = html.unescape(
        re.search(r"<pre[^>]*><code>(.*?)</code></pre>", fn._repr_html_(), re.S).group(1)
    )
    assert entry.startswith({"numpy": "def f(x, y):", "c": "int sg_f("}[backend])


def test_compiled_html_is_bounded():
    w = sg.symbols("w0:400")
    f = sum(wi * wi * float(i) for i, wi in enumerate(w))
    fn = sg.compile([list(w)], [f, sg.gradient(f, list(w))])
    page = fn._repr_html_()
    assert fn.source.count("\n") > display.HTML_LINES
    assert page.count("\n") <= display.HTML_LINES + 2 and "more lines (fn.source" in page
