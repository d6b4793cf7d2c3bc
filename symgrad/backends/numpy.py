"""The batched NumPy backend: the same straight-line program on whole arrays.

Each argument may carry leading batch axes (a symbol's argument has shape ``B``, a length-k
list's ``B + (k,)``); they broadcast together and every output gets the broadcast batch shape.
IEEE semantics come from NumPy itself, with its warnings silenced inside the function.

Sums ``w_jk * a_k`` over shared ``a_k`` with weights from one list argument (a layer, or its
adjoints) are one matrix product (``_lin``). With ``reduce`` ("sum" or "mean") every output is
folded over the batch axes: outputs ``a*b`` (weight gradients) that pair alike are one matrix
product (``_gram``), and a long batch runs in blocks of about 2048 samples whose sums are
added, so temporaries stay small. Both products check batch axes at run time and fall back.
Temporaries are deleted after their last use in every mode: large arrays then recycle through
the allocator.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from ..ir import Expr, leaves, make, symbol, topo_order
from ..ops import Op, Template
from ..printing import const_text
from .base import ArrayOut, Program, linearize, spec_ndim, structure_text
from .load import load as load_module
from .naming import NameScope

NAME = "numpy"
FUNC = "f"
COND_VALUE = Template("np.where({0}, 1.0, 0.0)")

HELPERS = {
    "_sigmoid": """def _sigmoid(x):
    # exp of a non-positive number only: no overflow for any finite x.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))""",
    "_erf": """_erf = np.vectorize(math.erf, otypes=[np.float64])""",
    "_out": """def _out(value, batch):
    # An output with the full batch shape, as a fresh float64 array.
    value = np.asarray(value, dtype=np.float64)
    if value.shape == batch:
        return value
    return np.broadcast_to(value, batch).copy()""",
    "_copy": """def _copy(value, batch):
    # An output that is an input or a constant: never hand back the caller's array.
    return np.broadcast_to(np.asarray(value, dtype=np.float64), batch).copy()""",
    "_sum": """def _sum(value, batch):
    # The sum over the batch axes; a value without them counts once per sample.
    value = np.asarray(value, dtype=np.float64)
    if value.shape != batch:
        value = np.broadcast_to(value, batch)
    return value.sum()""",
    "_sum_mul": """def _sum_mul(a, b, batch):
    # The sum of a*b over the batch without the temporary product: one BLAS dot.
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != batch or b.shape != batch:
        return _sum(a * b, batch)
    if a.ndim == 1:
        return np.dot(a, b)
    return np.dot(a.ravel(), b.ravel())""",
    "_array": """def _array(values, shape, batch):
    # An array output: each element broadcast to the batch shape, in one new float64 array.
    out = np.empty(batch + (len(values),))
    for k, v in enumerate(values):
        out[..., k] = v
    return out.reshape(batch + shape)""",
    "_gram": """def _gram(rows, cols, ones, batch):
    # Sums over the batch of rows[i]*cols[j] (then of rows[i] alone, if ones) in one matrix
    # product: a layer's weight gradients (adjoint * activation) in one BLAS call; the sums
    # of the rows alone are the product with a row of ones.
    n, k = len(rows), len(cols)
    if all(np.shape(v) == batch for v in rows + cols):
        size = math.prod(batch)
        r = np.array(rows).reshape(n, size)
        return r @ _stack(cols, ones, batch).reshape(k + ones, size).T
    # Some value lacks batch axes (counts once per sample): pair by pair.
    sums = [[_sum_mul(a, b, batch) for b in cols] + [_sum(a, batch)] * ones for a in rows]
    return np.array(sums, dtype=np.float64).reshape(n, k + ones)""",
    "_stack": """def _stack(vs, ones, shape):
    # The arrays vs (shape shape) then, if ones, a row of ones: one new (len(vs) + ones, ...) array.
    v = np.empty((len(vs) + ones,) + shape)
    for i, a in enumerate(vs):
        v[i] = a
    if ones:
        v[-1] = 1.0
    return v""",
    "_lin": """def _lin(w, ndim, idx, vs, ones=0):
    # Row j is sum_k W[j, k] * vs[k] (plus W[j, -1] if ones: a bias), W the elements idx of the
    # parameter w (ndim axes): one matrix product for a layer's pre-activations or adjoints,
    # when w has no batch axes.
    if w.ndim == ndim:
        v = _stack(vs, ones, np.broadcast_shapes(*(np.shape(a) for a in vs)))
        z = w.reshape(-1)[idx] @ v.reshape(len(v), -1)
        return z.reshape(z.shape[:1] + v.shape[1:])
    w = w.reshape(w.shape[: w.ndim - ndim] + (-1,))  # batched weights: term by term
    return [sum(w[..., i] * a for i, a in zip(row, vs + [1.0] * ones)) for row in idx.tolist()]""",
    "_chunk_rows": """def _chunk_rows(batch):
    # A long batch runs in blocks of about 2048 samples: temporaries stay small and in cache
    # (large ones cost page faults on every operation); the block sums are then added.
    if not batch or batch[0] <= 1:
        return 0
    rows = max(1, 2048 // max(math.prod(batch[1:]), 1))
    return rows if rows < batch[0] else 0""",
    "_take": """def _take(p, start, rows, ndim, batch):
    # Rows start:start+rows of the first batch axis when p carries that axis, else p whole.
    if p.ndim - ndim == len(batch) and p.shape[0] == batch[0]:
        return p[start : start + rows]
    return p""",
}


def literal(v: float) -> tuple[str, int]:
    if math.isnan(v):
        return "np.nan", 20
    if math.isinf(v):
        return ("np.inf", 20) if v > 0 else ("-np.inf", 12)
    t, p = const_text(v)
    if "." not in t and "e" not in t:
        t += ".0"
    return t, p


def load(source: str) -> Callable:
    """The function ``f`` of a generated module."""
    return load_module(source, FUNC, NAME)


def generate(
    params: list[tuple[str, object]],
    roots: list[Expr],
    structure,
    names: dict[int, str],
    new_scope: Callable[[], NameScope],
    doc: str,
    reduce: str | None = None,
) -> tuple[str, Program]:
    """The module for ``roots``; ``params`` as for the Python backend. Every parameter is an
    array whose trailing axes (none for a scalar) hold its elements."""
    scope = new_scope()
    # Under a reduction, an output a*b (every gradient of a weight: adjoint * activation) is
    # summed as a dot product of a and b, so its per-sample product is never stored.
    dots = [False] * len(roots)
    if reduce is not None and any(r.op is Op.MUL for r in roots):
        inner = {a.serial for n in topo_order(roots) for a in n.args}  # products used elsewhere
        dots = [r.op is Op.MUL and r.serial not in inner for r in roots]
    lin_roots = [a for r, d in zip(roots, dots) for a in (r.args if d else (r,))]
    lin_roots, names, groups = _lin_groups(lin_roots, names, params)
    n_out = len(lin_roots)
    extra = [v for g in groups for v in g.vectors]  # a product's operands need names
    prog = linearize(lin_roots + extra, names, NAME, scope, literal, COND_VALUE)
    consts = _place_lin(prog, groups, prog.outputs[n_out:])
    del prog.outputs[n_out:], prog.out_deps[n_out:]
    if any(dots):
        prog.op_counts["mul"] = prog.op_counts.get("mul", 0) + len(
            {r for r, d in zip(roots, dots) if d}
        )
    batch = scope.temp("batch")
    convert: list[str] = []  # every argument as a float64 array
    unpack: list[str] = []  # element names from the trailing axes, and the batch shape
    shapes = []
    for p, spec in params:
        ndim = spec_ndim(spec)
        convert.append(f"{p} = np.asarray({p}, dtype=np.float64)")
        shapes.append(f"{p}.shape[:{p}.ndim - {ndim}]" if ndim else f"{p}.shape")
        if ndim:
            axes = tuple(range(-ndim, 0))
            src = f"np.moveaxis({p}, {axes}, {tuple(range(ndim))})"
            unpack.append(f"{structure_text(spec, leaves(spec))} = {src}")
    batch_line = (
        f"{batch} = np.broadcast_shapes({', '.join(shapes)})" if shapes else f"{batch} = ()"
    )
    unpack.append(batch_line)
    compute = _with_frees(prog.lines, prog.outputs)
    outs = []
    texts = iter(prog.outputs)
    in_array = _in_array(structure)
    for r, d, a in zip(roots, dots, in_array):
        if d:
            outs.append(f"_sum_mul({next(texts)}, {next(texts)}, {batch})")
        elif reduce is not None:  # reduced outputs never materialise a per-sample copy
            outs.append(f"_sum({next(texts)}, {batch})")
        elif a:  # _array copies it into the output array
            outs.append(next(texts))
        else:
            outs.append(f"{'_out' if r.args else '_copy'}({next(texts)}, {batch})")

    def array_text(shape: tuple[int, ...], leaves: list[str]) -> str:
        if reduce is None:
            return f"_array([{', '.join(leaves)}], {shape!r}, {batch})"
        return f"np.array([{', '.join(leaves)}], dtype=np.float64).reshape({shape!r})"

    sig = ", ".join(p for p, _ in params)
    if reduce is None:
        ret = structure_text(structure, outs, array_text)
        funcs = [(FUNC, convert + unpack + compute + [f"return {ret}"])]
    else:
        # _block sums one block of samples; f splits a long batch into blocks and adds up.
        items, picks = _group_sums(roots, dots, prog.outputs, batch)
        ret = "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        totals = [f"_tot{pick}" + (" / _n" if reduce == "mean" else "") for pick in picks]
        takes = ", ".join(
            f"_take({p}, _i, _rows, {spec_ndim(spec)}, {batch})" for p, spec in params
        )
        driver = convert + [
            batch_line,
            f"_rows = _chunk_rows({batch})",
            "if _rows:",
            "    _tot = None",
            f"    for _i in range(0, {batch}[0], _rows):",
            f"        _part = _block({takes})",
            "        _tot = _part if _tot is None else [_a + _b for _a, _b in zip(_tot, _part)]",
            "else:",
            f"    _tot = _block({sig})",
        ]
        if reduce == "mean":
            driver.append(f"_n = math.prod({batch})")
        driver.append(f"return {structure_text(structure, totals, array_text)}")
        funcs = [("_block", unpack + compute + [f"return {ret}"]), (FUNC, driver)]
    text = "\n".join(line for _, body in funcs for line in body)
    used = [h for h in HELPERS if h + "(" in text]
    if "_gram" in used:
        used += [h for h in ("_sum", "_sum_mul") if h not in used]
    if ("_gram" in used or "_lin" in used) and "_stack" not in used:
        used.append("_stack")
    if "_sum_mul" in used and "_sum" not in used:
        used.append("_sum")
    used.sort(key=list(HELPERS).index)
    lines = [
        f'"""{doc}"""',
        "",
        *(["import math", ""] if "_erf" in used or reduce is not None else []),
        "import numpy as np",
        "",
    ]
    for h in used:
        lines += ["", HELPERS[h]]
    if consts:
        lines += ["", *consts]
    for name, body in funcs:
        lines += ["", "", f"def {name}({sig}):"]
        if name == FUNC:
            lines.append('    with np.errstate(all="ignore"):')
            lines += [f"        {line}" for line in body]
        else:
            lines += [f"    {line}" for line in body]
    return "\n".join(lines) + "\n", prog


_NAME = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")


def _with_frees(prog_lines: list[tuple[str, str]], outputs: list[str]) -> list[str]:
    """The assignments, each temporary deleted right after its last reader: whole-batch arrays
    then recycle through the allocator instead of piling up (and page-faulting) per call."""
    temps = {name for name, _ in prog_lines}
    temps -= {ident for text in outputs for ident in _NAME.findall(text)}  # the return reads
    last: dict[str, int] = {}
    for i, (_, text) in enumerate(prog_lines):
        for ident in _NAME.findall(text):
            if ident in temps:
                last[ident] = i
    dead: dict[int, list[str]] = {}
    for name, i in last.items():
        dead.setdefault(i, []).append(name)
    out = []
    for i, (name, text) in enumerate(prog_lines):
        out.append(f"{name} = {text}")
        if i in dead:
            out.append("del " + ", ".join(sorted(dead[i])))
    return out


class _LinGroup:
    """Sums ``rest_j + sum_k W[j, k] * vectors[k]`` sharing their vectors, W taken from one
    list parameter: printed as one ``_lin`` matrix product whose rows replace the sums. With
    ``ones``, the last column of W holds one more element of the parameter per sum (a bias)."""

    def __init__(
        self, param: str, ndim: int, vectors: list[Expr], idx: list[list[int]], ones: int = 0
    ):
        self.param, self.ndim, self.vectors, self.idx = param, ndim, vectors, idx
        self.ones = ones


def _lin_groups(
    roots: list[Expr], names: dict[int, str], params: list[tuple[str, object]]
) -> tuple[list[Expr], dict[int, str], list[_LinGroup]]:
    """Find sums of products ``w_jk * a_k`` over the same ``a_k`` for several ``j`` (a layer's
    neurons; in the gradient, the adjoints ``sum_j g_j * w_jk``), whose weights are elements of
    one list parameter, and rewrite each sum as ``rest_j + z[j]``, ``z[j]`` a placeholder for
    row j of a matrix product. Returns (new roots, names with the placeholders, the groups)."""
    elem: dict[int, tuple[str, int, int]] = {}  # weight symbol -> (param, its ndim, flat index)
    by_name = {v: k for k, v in names.items()}
    for p, spec in params:
        if spec is not None:
            for i, nm in enumerate(leaves(spec)):
                elem[by_name[nm]] = (p, spec_ndim(spec), i)
    if not elem:
        return roots, names, []
    nodes = topo_order(roots)
    uses: dict[int, int] = {}
    for r in roots:
        uses[r.serial] = uses.get(r.serial, 0) + 2  # an output is never absorbed into a sum
    for n in nodes:
        for a in n.args:
            uses[a.serial] = uses.get(a.serial, 0) + 1
    inner = {a.serial for n in nodes if n.op is Op.ADD for a in n.args}
    inner = {s for s in inner if uses[s] == 1}
    sums: list[tuple[Expr, list[Expr]]] = []
    count: dict[int, int] = {}
    for n in nodes:
        if n.op is not Op.ADD or n.serial in inner:  # inner: part of a larger sum
            continue
        terms, stack = [], [n]
        while stack:  # the leaves of the tree of single-use additions, left to right
            m = stack.pop()
            if m is n or (m.op is Op.ADD and m.serial in inner):
                stack.extend(reversed(m.args))
            else:
                terms.append(m)
        for t in terms:
            if t.op is Op.MUL:
                for a in t.args:
                    count[a.serial] = count.get(a.serial, 0) + 1
        sums.append((n, terms))
    found: dict[tuple, list] = {}
    for n, terms in sums:
        prods, rest = [], []
        for t in terms:
            pick = None
            if t.op is Op.MUL:
                u, v = t.args
                for w, a in ((u, v), (v, u)):  # a weight: a parameter's element, and if
                    if w.serial in elem and (  # both are, the one in fewer sums
                        a.serial not in elem or count[w.serial] < count[a.serial]
                    ):
                        pick = (w, a)
            (prods if pick else rest).append(pick or t)
        if len(prods) < 2 or len({elem[w.serial][0] for w, _ in prods}) > 1:
            continue
        vec = {a.serial: elem[w.serial][2] for w, a in prods}
        if len(vec) < len(prods):
            continue
        key = (elem[prods[0][0].serial][:2], tuple(sorted(vec)))
        found.setdefault(key, []).append((n, rest, vec, {a.serial: a for _, a in prods}))
    groups: list[_LinGroup] = []
    replace: dict[int, tuple[list[Expr], Expr]] = {}
    names = dict(names)
    for ((param, ndim), vkey), members in found.items():
        if len(members) < 2:
            continue
        g = len(groups)
        vectors = [members[0][3][s] for s in vkey]
        idx = [[vec[s] for s in vkey] for _, _, vec, _ in members]
        # A bias: one more element of the same parameter in every sum joins the product as a
        # column of W times a row of ones (one fewer whole-batch addition per sum).
        bias = [
            next((t for t in rest if elem.get(t.serial, ("",))[0] == param), None)
            for _, rest, _, _ in members
        ]
        ones = int(all(b is not None for b in bias))
        if ones:
            for row, b in zip(idx, bias):
                row.append(elem[b.serial][2])
            for (_, rest, _, _), b in zip(members, bias):
                del rest[next(i for i, t in enumerate(rest) if t is b)]  # one occurrence
        groups.append(_LinGroup(param, ndim, vectors, idx, ones))
        for j, (n, rest, _, _) in enumerate(members):
            ph = symbol(f"z{g}_{j}")
            names[ph.serial] = f"_z{g}[{j}]"
            replace[n.serial] = (rest, ph)
    if not groups:
        return roots, names, []
    new: dict[int, Expr] = {}
    get = new.get
    for n in nodes:
        if n.serial in replace:
            rest, ph = replace[n.serial]
            acc = None
            for t in rest:
                t = get(t.serial, t)
                acc = t if acc is None else make(Op.ADD, (acc, t))
            new[n.serial] = ph if acc is None else make(Op.ADD, (acc, ph))
        elif n.args:
            args = tuple(get(a.serial, a) for a in n.args)
            if any(x is not y for x, y in zip(args, n.args)):
                new[n.serial] = make(n.op, args)
    for grp in groups:
        grp.vectors = [get(v.serial, v) for v in grp.vectors]
    return [get(r.serial, r) for r in roots], names, groups


def _place_lin(prog: Program, groups: list[_LinGroup], vec_texts: list[str]) -> list[str]:
    """Insert each group's ``_z = _lin(...)`` line just before the first line that reads it;
    return the module constants (the weights' flat indices). A group may read an earlier one
    (the next layer), never a later one: the last group is placed first."""
    consts, placed, it = [], [], iter(vec_texts)
    for g, grp in enumerate(groups):
        vs = [next(it) for _ in grp.vectors]
        consts.append(f"_W{g} = np.array({grp.idx!r})  # flat indices into {grp.param}")
        ones = ", 1" if grp.ones else ""
        text = f"_lin({grp.param}, {grp.ndim}, _W{g}, [{', '.join(vs)}]{ones})"
        placed.append((f"_z{g}", text, vs))
        k = len(grp.vectors)
        prog.op_counts["mul"] = prog.op_counts.get("mul", 0) + k * len(grp.idx)
        prog.op_counts["add"] = prog.op_counts.get("add", 0) + (k - 1 + grp.ones) * len(grp.idx)
    for z, text, vs in reversed(placed):
        at = next(
            (i for i, d in enumerate(prog.deps) if any(x.startswith(z + "[") for x in d)),
            len(prog.lines),
        )
        defined = {name for name, _ in prog.lines[:at]}
        assert all(v in defined or v not in {nm for nm, _ in prog.lines} for v in vs), vs
        prog.lines.insert(at, (z, text))
        prog.deps.insert(at, tuple(vs))
    return consts


def _group_sums(
    roots: list[Expr], dots: list[bool], texts: list[str], batch: str
) -> tuple[list[str], list[str]]:
    """The reduced outputs as (what ``_block`` returns, how each output picks its total).

    Every reduced output is a sum over the batch of ``row * col``: a dot output ``a*b`` is
    (newer, older) operand, any other output ``r`` is (r, 1). Rows that pair with the same
    columns form one ``_gram`` matrix product (a layer's weight and bias gradients), so a
    hundred outputs cost a few BLAS calls, not a hundred. A pair alone stays one dot/sum.
    """
    it = iter(texts)
    pairs: list[tuple[str, str | None]] = []
    for r, d in zip(roots, dots):
        if d:
            a, b = r.args
            ta, tb = next(it), next(it)
            pairs.append((ta, tb) if a.serial >= b.serial else (tb, ta))
        else:
            pairs.append((next(it), None))
    cols_of: dict[str, list[str | None]] = {}
    for row, col in pairs:
        cs = cols_of.setdefault(row, [])
        if col not in cs:
            cs.append(col)
    groups: dict[tuple, list[str]] = {}  # column set -> rows, in first-seen order
    for row, cs in cols_of.items():
        key = tuple(sorted(cs, key=lambda c: (c is None, c or "")))
        groups.setdefault(key, []).append(row)
    items: list[str] = []
    where: dict[tuple[str, str | None], str] = {}
    for key, rows in groups.items():
        cols = [c for c in key if c is not None]
        ones = key[-1] is None
        if len(rows) * len(key) == 1:
            where[(rows[0], key[0])] = f"[{len(items)}]"
            text = (
                f"_sum({rows[0]}, {batch})" if ones else f"_sum_mul({rows[0]}, {cols[0]}, {batch})"
            )
            items.append(text)
            continue
        g = len(items)
        items.append(f"_gram([{', '.join(rows)}], [{', '.join(cols)}], {int(ones)}, {batch})")
        for i, row in enumerate(rows):
            for j, col in enumerate(key):
                where[(row, col)] = f"[{g}][{i}, {j}]"
    return items, [where[p] for p in pairs]


def _in_array(structure) -> list[bool]:
    """Per output leaf, in order: whether it is an element of an array output."""
    flags: list[bool] = []
    for item in leaves(structure):
        if isinstance(item, ArrayOut):
            flags += [True] * item.size
        else:
            flags.append(False)
    return flags
