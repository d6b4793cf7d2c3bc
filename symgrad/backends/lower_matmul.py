"""Matrix structure recovered from the scalar graph: the batched backends' lowering pass.

A dense layer written per sample is, in the scalar graph, a group of sums
``b_j + sum_k W[j, k] * v_k`` over the same vectors ``v_k``, every weight an element of one
list parameter; its gradient holds the transposed sums ``sum_j W[j, k] * g_j`` (the same shape)
and, under a reduction over the batch, the weight gradients ``sum_batch g_j * v_k``: outer
products summed over the batch. ``lower`` finds both and returns a ``Lowered`` program: the
scalar roots with each found sum's product part replaced by a fresh symbol (a row of a
``MatMul``), the products in dependency order, and the reduced outputs as ``Total``, ``Dot`` and
``OuterSum`` items. Printers read it; nothing here knows a backend's spelling. A sum that
fits no group (an irregular graph) is left as it is.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from itertools import islice, repeat
from operator import attrgetter, gt, itemgetter, lt

from ..ir import Expr, leaves, make, share_order, symbol, topo_order
from ..ops import Op
from .lowered import Dot, Lowered, MatMul, OuterSum, Total, Vectors

_serial = attrgetter("serial")
_first, _second = itemgetter(0), itemgetter(1)


def lower(roots: list[Expr], elements: dict[int, tuple[int, int]], reduce: bool = False) -> Lowered:
    """The lowered program of ``roots``. ``elements`` maps the serial of each element symbol of
    a list parameter to (parameter number, flat index); ``reduce``: outputs are summed over the
    batch. Values are those of the scalar graph up to the order of additions."""
    if reduce:
        items, picks, dots, order = _reduced(roots)
        scalar = Lowered(roots, [], items, picks, dots).output_nodes()
        if order is not None:  # the outputs' order minus the products folded into items
            share_order(scalar, order)
    else:
        items, picks, dots, scalar = None, [], 0, list(roots)
    products, replace = _products(scalar, elements, _orders_of(items or ()))
    if products:
        new = rebuild(_live(scalar, products, replace), replace)
        roots = [new.get(r.serial, r) for r in roots]
        products = [_remap_product(m, new) for m in products]
        if items is not None:
            items = [_remap_item(it, new) for it in items]
    if items is not None:
        items = [_with_slices(it, elements) for it in items]
    return Lowered(roots, products, items, picks, dots)


# -- reduced outputs ------------------------------------------------------------------------


def _reduced(roots: list[Expr]) -> tuple[list, list[tuple[int, ...]], int, list[Expr] | None]:
    """Every reduced output as a sum over the batch of ``row * col``: an output ``a*b`` used
    nowhere else is (newer, older) operand, any other output ``r`` is (r, None). Rows pairing
    with the same columns form one ``OuterSum`` (a layer's weight and bias gradients); a pair
    alone stays one ``Dot`` or ``Total``. Also returns the topological order of the graph
    without the products folded so (None when none is): only they leave the graph the
    items' operands span, as no node uses them."""
    keys, cols_of, order = _pairs(roots)
    groups: dict[tuple[int, ...], list[Expr]] = {}  # column set -> rows, in first-seen order
    for row, cs in cols_of.values():
        key = sorted(cs)  # by serial; the ones (-1, the only negative key) go last
        if key[0] < 0:
            key.append(key.pop(0))
        groups.setdefault(tuple(key), []).append(row)
    items: list = []
    at_row: dict[int, tuple] = {}  # row serial -> (item,) or (item, row position, columns)
    for key, rows in groups.items():
        cs = cols_of[rows[0].serial][1]
        k = len(items)
        if len(rows) * len(key) == 1:
            s = key[0]
            items.append(Total(rows[0]) if s < 0 else Dot(rows[0], cs[s]))
            at_row[rows[0].serial] = (k,)
            continue
        cols = tuple(cs[s] for s in key if s >= 0)
        items.append(OuterSum(Vectors(tuple(rows)), Vectors(cols), key[-1] < 0))
        at_col = {s: j for j, s in enumerate(key)}  # column serial (-1: ones) -> position
        for i, row in enumerate(rows):
            at_row[row.serial] = (k, i, at_col)
    picks = []
    pick, last = picks.append, None
    for rs, c in zip(*keys):  # a row's outputs are mostly in a run
        if rs != last:
            last, at = rs, at_row[rs]
            if len(at) > 1:
                k, i, at_col = at
        pick(at if len(at) == 1 else (k, i, at_col[c]))
    dots = sum(len(cs) - (-1 in cs) for _, cs in cols_of.values())
    return items, picks, dots, order


def _pairs(roots: list[Expr]) -> tuple[tuple[list[int], list[int]], dict, list[Expr] | None]:
    """Each root as (row, column): a product no node uses as (newer, older) factor, else
    (root, None). Returns the row serials and the column serials (-1: none) of the roots;
    row serial -> (row, column serial -> column) in first-seen order; the graph's order
    without those products.
    Only a node newer than a product can use it, so the search for users starts at the
    oldest product root."""
    mul = Op.MUL
    lo = min([r.serial for r in roots if r.op is mul], default=None)
    used: set[int] = set()
    order = None
    if lo is not None:
        order = topo_order(roots)  # by serial: nothing older than a product is one
        k = bisect_left(order, lo, key=_serial)
        used = {a.serial for n in islice(order, k + 1, None) for a in n.args}
    folded: set[int] = set()
    rss: list[int] = []
    cols: list[int] = []
    cols_of: dict[int, tuple[Expr, dict[int, Expr | None]]] = {}
    fold, key, col_key = folded.add, rss.append, cols.append
    last, cs = None, {}  # a row's outputs are mostly in a run: its columns at hand
    for r in roots:
        s = r.serial
        if r.op is mul and s not in used:
            fold(s)
            row, col = r.args
            rs, c = row.serial, col.serial
            if rs < c:
                row, col, rs, c = col, row, c, rs
        else:
            row, col, rs, c = r, None, s, -1
        if rs != last:
            e = cols_of.get(rs)
            if e is None:
                cols_of[rs] = e = (row, {})
            last, cs = rs, e[1]
        if c not in cs:
            cs[c] = col
        key(rs)
        col_key(c)
    if order is not None:
        if not folded:
            return (rss, cols), cols_of, None
        tail = order[k:]
        del order[k:]
        order += [n for n in tail if n.serial not in folded]
    return (rss, cols), cols_of, order


def _with_slices(item, elements: dict[int, tuple[int, int]]):
    if isinstance(item, OuterSum):
        return OuterSum(item.rows, _as_slice(item.cols.nodes, elements), item.ones)
    return item


def _as_slice(nodes: tuple[Expr, ...], elements: dict[int, tuple[int, int]]) -> Vectors:
    """``nodes`` as a slice of one parameter when they are its elements at evenly spaced flat
    indices (in that order), else as they are."""
    at = [elements.get(n.serial) for n in nodes]
    if len(nodes) < 2 or any(a is None for a in at) or len({a[0] for a in at}) > 1:
        return Vectors(nodes)
    start, step = at[0][1], at[1][1] - at[0][1]
    if step <= 0 or any(a[1] != start + k * step for k, a in enumerate(at)):
        return Vectors(nodes)
    return Vectors(nodes, at[0][0], start, step)


# -- products -------------------------------------------------------------------------------


def _sums(nodes: list[Expr], roots: list[Expr]) -> list[tuple[Expr, list[Expr]]]:
    """Each maximal tree of single-use additions, as (its top node, its terms left to right).
    One pass in serial order: an addition takes over the term lists of its single-use
    addition arguments (which are then no sum's top), so each term is appended once. A
    chain (each addition's left argument the one before it: a layer's ``b + w0*x0 + ...``)
    keeps its list at hand instead of in the table of open sums."""
    add = Op.ADD
    uses = Counter([a.serial for n in nodes for a in n.args if a.op is add])  # of additions
    for r in roots:
        uses[r.serial] += 2  # an output is never absorbed into a sum
    once = {s for s, c in uses.items() if c == 1}  # additions only: absorbed by their user
    open_: dict[int, tuple[Expr, list[Expr]]] = {}  # top serial -> (top, terms), serial order
    take = open_.pop
    cur, terms = None, []  # the newest addition and its terms, not yet in open_
    for n in [n for n in nodes if n.op is add]:
        a, b = n.args
        if a is not cur or a.serial not in once:
            if cur is not None:
                open_[cur.serial] = (cur, terms)
            terms = take(a.serial)[1] if a.serial in once else [a]
        if b.serial in once:
            terms += take(b.serial)[1]
        else:
            terms.append(b)
        cur = n
    if cur is not None:
        open_[cur.serial] = (cur, terms)
    return list(open_.values())


def _candidates(scalar: list[Expr], elements) -> dict[tuple, list]:
    """Sums of at least two weight * vector products, with weights from one parameter and
    distinct vectors, keyed by (parameter, vector set); each as (top, rest, vector serial ->
    weight's (parameter, flat index), the vectors' serials, the vectors) (see ``_split``)."""
    mul = Op.MUL
    count: Counter = Counter()  # how many products of the sums each factor is in
    factors = []
    for n, terms in _sums(topo_order(scalar), scalar):
        uv = [t.args for t in terms if t.op is mul]
        su, sv = [u.serial for u, _ in uv], [v.serial for _, v in uv]
        count.update(su)
        count.update(sv)
        if len(uv) > 1:
            factors.append((n, terms, uv, su, sv))
    found: dict[tuple, list] = {}
    for n, terms, uv, su, sv in factors:
        hit = _split_all(terms, uv, su, sv, elements, count)
        if hit is None:
            hit = _split(terms, elements, count)
        if hit:
            vec = hit[1]
            found.setdefault((hit[0], tuple(sorted(vec))), []).append((n, *hit[2:], vec))
    return found


def _split_all(terms, uv, su, sv, elements, count) -> tuple | bool | None:
    """``_split`` when every product takes its weight from the same side (a layer's sums), in
    whole-list steps; None when they do not (``_split`` then decides term by term), False
    when the sum is no candidate."""
    get, n = elements.get, len(uv)
    eu, ev = list(map(get, su)), list(map(get, sv))
    if None not in eu and (
        ev.count(None) == n or all(map(lt, map(count.get, su), map(count.get, sv)))
    ):
        w, vs, nodes = eu, sv, [v for _, v in uv]
    elif None not in ev and (
        eu.count(None) == n or all(map(gt, map(count.get, su), map(count.get, sv)))
    ):
        w, vs, nodes = ev, su, [u for u, _ in uv]
    else:
        return None
    if len(set(map(_first, w))) > 1:
        return False
    vec = dict(zip(vs, w))
    if len(vec) < len(w):
        return False
    mul = Op.MUL
    rest = [t for t in terms if t.op is not mul] if len(uv) < len(terms) else []
    return w[0][0], vec, rest, vs, nodes


def _split(terms: list[Expr], elements: dict, count: Counter) -> tuple | bool:
    """A sum's terms as weight * vector products, the weight an element of a parameter (if
    both factors are, the one in fewer sums), and the rest: (parameter, vector serial ->
    weight's (parameter, flat index), rest, the vectors' serials, the vectors), or False
    unless there are at least two products, all with weights from one parameter and
    distinct vectors (the search stops at the first that breaks this)."""
    mul = Op.MUL
    get = elements.get
    rest: list[Expr] = []
    vec: dict[int, tuple[int, int]] = {}
    vs: list[int] = []
    nodes: list[Expr] = []
    param = None
    for t in terms:
        if t.op is mul:
            u, v = t.args
            su, sv = u.serial, v.serial
            eu, ev = get(su), get(sv)
            if eu is not None and (ev is None or count[su] < count[sv]):
                w, sa = eu, sv
            elif ev is not None and (eu is None or count[sv] < count[su]):
                w, sa, v = ev, su, u
            else:
                rest.append(t)
                continue
            if sa in vec or (vec and w[0] != param):
                return False
            param = w[0]
            vec[sa] = w
            vs.append(sa)
            nodes.append(v)
        else:
            rest.append(t)
    return (param, vec, rest, vs, nodes) if len(vec) > 1 else False


def _orders_of(items) -> dict[frozenset, tuple[int, ...]]:
    """The serials of each outer sum's rows and columns, in their order, keyed by their set: a
    product over the same vectors stacks them in that order, so both read one block of rows
    (a layer's adjoints feed the next product and the weight gradient; in the order the
    sweep made them, the product's would be the reverse, and written twice)."""
    out: dict[frozenset, tuple[int, ...]] = {}
    for it in items:
        if isinstance(it, OuterSum):
            for v in (it.rows, it.cols):
                serials = tuple(n.serial for n in v.nodes)
                out.setdefault(frozenset(serials), serials)
    return out


def _products(scalar: list[Expr], elements, prefer: dict) -> tuple[list[MatMul], dict]:
    """The groups of at least two sums over the same vectors become products; returns them
    and, per replaced sum, (its remaining terms, its row symbol). ``prefer``: an order for a
    set of vectors (``_orders_of``), else by serial."""
    if not elements:
        return [], {}
    products: list[MatMul] = []
    replace: dict[int, tuple[list[Expr], Expr]] = {}
    for (param, vkey), members in _candidates(scalar, elements).items():
        if len(members) < 2:
            continue
        g = len(products)
        _, _, vs0, nodes0, _ = members[0]
        node_of = dict(zip(vs0, nodes0))
        order = list(vkey)  # by serial, or by flat index when all are elements of one param
        if all(s in elements for s in order) and len({elements[s][0] for s in order}) == 1:
            order.sort(key=lambda s: elements[s][1])
        else:
            order = list(prefer.get(frozenset(vkey), order))
        vectors = _as_slice(tuple(map(node_of.__getitem__, order)), elements)
        index = [list(map(_second, map(m[4].__getitem__, order))) for m in members]
        # A bias: one more element of the same parameter in every sum joins the product as a
        # column of W times a row of ones (one fewer whole-batch addition per sum).
        bias = [
            next((t for t in rest if _param_of(t, elements) == param), None)
            for _, rest, *_ in members
        ]
        ones = all(b is not None for b in bias)
        if ones:
            for row, b, (_, rest, *_) in zip(index, bias, members):
                row.append(elements[b.serial][1])
                del rest[next(i for i, t in enumerate(rest) if t is b)]  # one occurrence
        rows = tuple(symbol(f"mm{g}_{j}") for j in range(len(members)))
        products.append(MatMul(param, tuple(map(tuple, index)), vectors, ones, rows))
        for (n, rest, *_), row in zip(members, rows):
            replace[n.serial] = (rest, row)
    return products, replace


def _param_of(t: Expr, elements) -> int | None:
    e = elements.get(t.serial)
    return None if e is None else e[0]


def _live(scalar: list[Expr], products: list[MatMul], replace: dict) -> list[Expr]:
    """The nodes the rebuilt graph reaches (from ``scalar`` and the products' vectors), in
    serial order: a replaced sum's tree is not entered, only its remaining terms are (most of
    a layer's nodes are its sums' trees, and nothing reads them once replaced)."""
    stack = list(scalar)
    for m in products:
        stack += m.vectors.nodes
    seen: set[int] = set()
    nodes: list[Expr] = []
    mark, keep, pop, push = seen.add, nodes.append, stack.pop, stack.extend
    while stack:
        n = pop()
        s = n.serial
        if s in seen:
            continue
        mark(s)
        keep(n)
        r = replace.get(s)
        if r is not None:
            push(r[0])
        elif n.args:
            push(n.args)
    nodes.sort(key=_serial)
    return nodes


def rebuild(nodes: list[Expr], replace: dict[int, tuple[list[Expr], Expr]]) -> dict[int, Expr]:
    """Old serial -> new node, for every node that changes when each replaced sum becomes
    (its remaining terms) + (its row); in serial order, so no recursion."""
    new: dict[int, Expr] = {}
    get = new.get
    for n in nodes:
        if n.serial in replace:
            rest, row = replace[n.serial]
            acc = None
            for t in rest:
                t = get(t.serial, t)
                acc = t if acc is None else make(Op.ADD, (acc, t))
            new[n.serial] = row if acc is None else make(Op.ADD, (acc, row))
        elif n.args:
            for a in n.args:
                if a.serial in new:
                    new[n.serial] = make(n.op, tuple(get(a.serial, a) for a in n.args))
                    break
    return new


def _remap(nodes: tuple[Expr, ...], new: dict[int, Expr]) -> tuple[Expr, ...]:
    return tuple(new.get(n.serial, n) for n in nodes)


def _remap_product(m: MatMul, new: dict[int, Expr]) -> MatMul:
    v = m.vectors
    vectors = Vectors(_remap(v.nodes, new), v.param, v.start, v.step)
    return MatMul(m.param, m.index, vectors, m.bias, m.rows)


def _remap_item(it, new: dict[int, Expr]):
    if isinstance(it, Total):
        return Total(new.get(it.node.serial, it.node))
    if isinstance(it, Dot):
        return Dot(*_remap((it.a, it.b), new))
    return OuterSum(
        Vectors(_remap(it.rows.nodes, new)), Vectors(_remap(it.cols.nodes, new)), it.ones
    )


def elements_of(params: list[tuple[str, object]], names: dict[int, str]) -> dict:
    """Serial of each element symbol of a list parameter -> (parameter number, flat index);
    ``params`` as the printers get them (name, nested element names or None). Names are
    unique, so where a parameter's names sit in ``names`` in order (as ``sg.compile`` named
    them), that slice of its keys is the serials; else each name is looked up."""
    serials, labels = list(names), list(names.values())
    by_name: dict[str, int] | None = None
    out: dict[int, tuple[int, int]] = {}
    for q, (_, spec) in enumerate(params):
        if spec is None:
            continue
        flat = leaves(spec)
        at = labels.index(flat[0]) if flat and flat[0] in names.values() else -1
        if at >= 0 and labels[at : at + len(flat)] == flat:
            keys = serials[at : at + len(flat)]
        else:
            if by_name is None:
                by_name = dict(zip(labels, serials))
            keys = [by_name[nm] for nm in flat]
        out.update(zip(keys, zip(repeat(q), range(len(flat)))))
    return out
