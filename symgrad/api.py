"""``sg.compile``: the one place that composes autodiff's output, the passes and a backend."""

from __future__ import annotations

import hashlib
import numbers
from collections import Counter
from collections.abc import Sequence
from typing import Any

from . import __version__
from .autodiff import provenance
from .backends import c as c_backend
from .backends import numpy as np_backend
from .backends import python as py_backend
from .backends.base import ArrayOut
from .backends.load import load
from .backends.naming import NameScope
from .display import compiled_html
from .ir import (
    Expr,
    as_expr,
    count_ops,
    flatten,
    gc_paused,
    leaves,
    map_leaves,
    orders_shared,
    topo_order,
)
from .ops import Op
from .passes import optimize
from .passes.schedule import schedule

BACKENDS = {"python": py_backend, "numpy": np_backend, "c": c_backend}
REDUCTIONS = (None, "sum", "mean")


def _leaf(x: Any, where: str) -> Expr:
    e = getattr(x, "_expr", x)
    if not isinstance(e, Expr) or e.op is not Op.SYMBOL:
        raise TypeError(f"{where} must be a symbol (or a list of symbols), got {x!r:.60}")
    return e


def _shape_of(item: Any, where: str) -> tuple[int, ...]:
    """The rectangular shape of a nested list of symbols, checked iteratively."""
    shape: list[int] = []
    level = [item]
    while level and isinstance(level[0], list | tuple):
        n = len(level[0])
        if any(not isinstance(x, list | tuple) or len(x) != n for x in level):
            raise ValueError(f"{where} is a ragged nested list; give a rectangular one")
        shape.append(n)
        level = [y for x in level for y in x]
    if any(isinstance(x, list | tuple) for x in level):
        raise ValueError(f"{where} is a ragged nested list; give a rectangular one")
    return tuple(shape)


def _as_nested(item: Any) -> Any:
    if hasattr(item, "tolist") and hasattr(item, "dtype"):  # an object array of symbols
        return item.tolist()
    return item


def _spec_names(item: Any, scope: NameScope, names: dict[int, str], where: str) -> Any:
    """The nested list of element names for a list input (iterative)."""
    if not isinstance(item, list | tuple):
        e = _leaf(item, where)
        names[e.serial] = scope.fresh(e.payload)
        return names[e.serial]
    root: list = []
    stack = [(item, root)]
    while stack:
        src, dst = stack.pop(0)
        for x in src:
            if isinstance(x, list | tuple):
                sub: list = []
                dst.append(sub)
                stack.append((x, sub))
            else:
                e = _leaf(x, where)
                if e.serial in names:
                    raise ValueError(
                        f"the symbol {e.payload!r} is given twice in inputs; "
                        "each input symbol must appear once"
                    )
                names[e.serial] = scope.fresh(e.payload)
                dst.append(names[e.serial])
    return root


def _param_label(item: Any) -> str:
    labels = [
        e.payload for e in (getattr(x, "_expr", x) for x in leaves(item)) if isinstance(e, Expr)
    ]
    if labels:
        stem = labels[0].rstrip("0123456789_[]() ")
        if stem and all(lbl.startswith(stem) for lbl in labels):
            return stem
    return "args"


class CompiledFunction:
    """A generated, loaded function. Call it like the function it computes.

    ``source`` is the whole generated module (the code that runs); ``stats`` counts its ops.
    """

    def __init__(
        self,
        source: str,
        backend: str,
        arg_info: list[tuple[str, tuple | None]],
        stats: dict,
        func: Any = None,
        reduce: str | None = None,
    ) -> None:
        self.source = source
        self.backend = backend
        self.reduce = reduce  # None, or how the batch axes fold ("sum", "mean")
        self.stats = stats
        self._arg_info = arg_info
        self._nargs = len(arg_info)
        if func is None:
            if backend == "c":
                func = c_backend.load(source)
            elif backend == "python":
                func = py_backend.load(source)  # compiles a split module part by part
            else:
                func = load(source, "f", backend)
        self._fn = func
        # Trailing shape each array argument must have (batched backends' fast path).
        self._trailing = [tuple(shape or ()) for _, shape in arg_info]
        self._np_types: tuple = (None, None)
        if backend != "python":  # NumPy is a dependency of these backends, not of the core
            import numpy as np

            self._np_types = (np.ndarray, np.dtype(np.float64))
        self._fast_types = (
            tuple(float if shape is None else list for _, shape in arg_info)
            if backend == "python"
            else None
        )
        # C backend: floats and float64 arrays go straight to the call entry (ccall.py); it
        # answers None for anything else, which then takes the checks and conversions below.
        caller = getattr(func, "caller", None) if backend == "c" else None
        self._c_fast = caller(self._trailing) if caller is not None else None
        self.__name__ = "f"
        self.inputs: list | None = None  # set by sg.compile (for sg.verify(fn))
        self.output_exprs: list[Expr] | None = None  # the outputs before passes, flat
        self.__doc__ = source.split('"""')[1] if source.startswith('"""') else None

    # -- calling --------------------------------------------------------------------------
    def __call__(self, *args: Any) -> Any:
        if self._c_fast is not None:
            out = self._c_fast(args)
            if out is not None:
                return out
        if self._fast_types is not None and tuple(map(type, args)) == self._fast_types:
            # Python backend, floats and plain lists: straight in; a bad list is diagnosed.
            try:
                return self._fn(*args)
            except (TypeError, ValueError):
                self._diagnose(args)
                raise
        if len(args) != self._nargs:
            names = ", ".join(n for n, _ in self._arg_info)
            raise TypeError(
                f"this compiled function takes {self._nargs} argument(s) ({names}), got {len(args)}"
            )
        if self.backend == "python":
            args = tuple(_py_arg(a, info) for a, info in zip(args, self._arg_info))
            try:
                return self._fn(*args)
            except (TypeError, ValueError):
                self._diagnose(args)
                raise
        ndarray, f64 = self._np_types
        for a, want in zip(args, self._trailing):
            # float64 arrays with the right trailing shape go straight in (the common call)
            if type(a) is not ndarray or a.dtype != f64 or a.shape[a.ndim - len(want) :] != want:
                break
        else:
            return self._fn(*args)
        args = tuple(_np_arg(a, info, i) for i, (a, info) in enumerate(zip(args, self._arg_info)))
        return self._fn(*args)

    def _diagnose(self, args: tuple) -> None:
        for i, (a, info) in enumerate(zip(args, self._arg_info)):
            _np_arg(a, info, i, batch=False)

    # -- travelling -----------------------------------------------------------------------
    def __reduce__(self):
        # By source: the receiver re-executes the module, so no code object crosses the wire.
        args = (self.source, self.backend, self._arg_info, self.stats, None, self.reduce)
        return (CompiledFunction, args)

    def save(self, path: str) -> None:
        """Write the standalone module (it needs no symgrad to run); for backend "c", the
        ``.c`` file and a small Python loader (``path`` a directory or a ``.c`` file name)."""
        if self.backend == "c":
            c_backend.save(self.source, path)
            return
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.source)

    def __repr__(self) -> str:
        sig = ", ".join(n for n, _ in self._arg_info)
        return f"<symgrad.CompiledFunction f({sig}) [{self.backend}, {self.stats['ops']} ops]>"

    def _repr_html_(self) -> str:  # a notebook's view: signature, op counts, the source
        sig = ", ".join(n for n, _ in self._arg_info)
        return compiled_html(self.source, self.backend, self.stats, sig)


def _py_arg(a: Any, info: tuple) -> Any:
    name, shape = info
    if shape is None:
        if type(a) is float:
            return a
        if isinstance(a, numbers.Real) and not isinstance(a, bool):
            return float(a)
        if hasattr(a, "shape") and a.shape == () and hasattr(a, "item"):
            return float(a.item())
        raise TypeError(f"argument {name!r} must be a real number, got {type(a).__name__}")
    if hasattr(a, "tolist"):
        return a.tolist()
    return a


def _np_arg(a: Any, info: tuple, i: int, batch: bool = True) -> Any:
    import numpy as np

    name, shape = info
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        want = "a real number" if shape is None else f"numbers of shape {shape}"
        raise TypeError(
            f"argument {name!r} (position {i + 1}) must be {want}, got {a!r:.60}"
        ) from None
    want = shape or ()
    if batch:
        ok = arr.ndim >= len(want) and arr.shape[arr.ndim - len(want) :] == want
    else:
        ok = arr.shape == want
    if not ok:
        where = "trailing " if batch and want else ""
        raise ValueError(
            f"argument {name!r} (position {i + 1}) must have {where}shape {want}, "
            f"got shape {arr.shape}"
        )
    return arr


def compile(  # noqa: A001 - the contract's name
    inputs: Sequence[Any],
    outputs: Any,
    *,
    backend: str = "python",
    reduce: str | None = None,
    optimize_passes: bool = True,
) -> CompiledFunction:
    """Compile ``outputs`` (an expression, number, or nested list/tuple of them) into a function
    of ``inputs`` (one positional argument per item: a symbol, or a nested list of symbols).

    ``backend="python"`` gives scalar code on ``math``; ``"numpy"`` gives code on whole arrays
    with leading batch axes; ``reduce="sum"`` or ``"mean"`` (NumPy) folds the batch axes of
    every output, so a per-sample loss returns the data set's total and summed gradient.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {sorted(BACKENDS)}, not {backend!r}")
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be None, 'sum' or 'mean', not {reduce!r}")
    if reduce is not None and backend == "python":
        raise ValueError("reduce needs a batched backend; use backend='numpy'")
    if isinstance(inputs, Expr) or not isinstance(inputs, Sequence) or isinstance(inputs, str):
        raise TypeError(
            "inputs must be a list or tuple of symbols (or of lists of symbols), "
            f"got {type(inputs).__name__}; write [x] for one symbol"
        )
    scope = NameScope()
    names: dict[int, str] = {}
    params: list[tuple[str, Any]] = []
    arg_info: list[tuple[str, tuple | None]] = []
    for i, raw in enumerate(inputs):
        item = _as_nested(raw)
        where = f"inputs[{i}]"
        if isinstance(item, list | tuple):
            shape = _shape_of(item, where)
            pname = scope.fresh(_param_label(item))
            params.append((pname, None))
            arg_info.append((pname, shape))
        else:
            e = _leaf(item, where)
            if e.serial in names:
                raise ValueError(
                    f"the symbol {e.payload!r} is given twice in inputs; "
                    "each input symbol must appear once"
                )
            params.append((None, None))
            arg_info.append((None, None))
    # Element names after parameter names, so a list `w` keeps `w` and its items `w0, w1 ...`.
    for i, raw in enumerate(inputs):
        item = _as_nested(raw)
        if isinstance(item, list | tuple):
            params[i] = (params[i][0], _spec_names(item, scope, names, f"inputs[{i}]"))
        else:
            e = _leaf(item, f"inputs[{i}]")
            if e.serial in names:
                raise ValueError(
                    f"the symbol {e.payload!r} is given twice in inputs; "
                    "each input symbol must appear once"
                )
            names[e.serial] = scope.fresh(e.payload)
            params[i] = (names[e.serial], None)
            arg_info[i] = (e.payload, None)
    structure, leaves = _split_outputs(outputs)
    roots = flatten(leaves)
    with orders_shared():  # the check, the passes and the printer walk the graph once
        fn = _checked(
            params, arg_info, names, scope, roots, outputs, backend, reduce, optimize_passes
        )
    # What sg.verify(fn) needs: the input symbols and the outputs as given, before any pass.
    fn.inputs = [_as_nested(raw) for raw in inputs]
    fn.output_exprs = roots
    fn.output_claims = provenance.snapshot(roots)  # what each output is the derivative of
    return fn


def _checked(params, arg_info, names, scope, roots, outputs, backend, reduce, optimize_passes):
    missing = [n for n in topo_order(roots) if n.op is Op.SYMBOL and n.serial not in names]
    if missing:
        labels = ", ".join(repr(m.payload) for m in missing)
        raise ValueError(
            f"outputs depend on symbols that are not inputs: {labels}; add them to inputs"
        )
    with gc_paused():  # IR and printing build no cycles; see ir.gc_paused
        return _compile(
            params, arg_info, names, scope, roots, outputs, backend, reduce, optimize_passes
        )


def _compile(params, arg_info, names, scope, roots, outputs, backend, reduce, optimize_passes):
    """Passes, code generation and loading, once the inputs and outputs are checked."""
    if optimize_passes:
        roots = optimize(roots)
    # The docstring shows the generated parameter names: a raw label there could close the
    # docstring and reach the module's code (names are labels, never code).
    doc = _doc([(p, s) for (p, _), (_, s) in zip(params, arg_info)], backend)
    gen = BACKENDS[backend]
    kwargs = {"reduce": reduce} if backend in ("numpy", "c") else {}
    if backend == "python":
        kwargs["order"] = schedule(roots)  # None below the size where live ranges matter
    source, prog = gen.generate(
        params, roots, _structure(outputs), names, scope.copy, doc, **kwargs
    )
    stats = {
        "ops": prog.n_ops,
        "by_op": dict(Counter(prog.op_counts).most_common()),
        "lines": len(prog.lines),
        "source_lines": source.count("\n"),
        "source_sha1": hashlib.sha1(source.encode()).hexdigest()[:12],
    }
    stats.update(_cost_split(roots, prog.n_ops))
    return CompiledFunction(source, backend, arg_info, stats, reduce=reduce)


def _cost_split(roots: list[Expr], total_ops: int) -> dict:
    """The first output's own op count (the forward value, when the outputs are ``[f, grad]``)
    against the whole program's, so a user sees what the gradient costs over the function."""
    if not roots:
        return {}
    first = count_ops([roots[0]])
    return {
        "forward_ops": first,
        "rest_ops": total_ops - first,
        "ratio_to_forward": total_ops / first if first else None,
    }


def _structure(outputs: Any) -> Any:
    """``outputs`` as printers see it: lists, tuples and an ``ArrayOut`` per array."""
    return _split_outputs(outputs)[0]


def _is_array(x: Any) -> bool:
    # Duck-typed (no NumPy import here); NumPy scalars are numbers, not arrays.
    return hasattr(x, "shape") and hasattr(x, "ravel") and not isinstance(x, numbers.Number)


def _split_outputs(outputs: Any) -> tuple[Any, list]:
    """(structure, leaves): ``outputs`` with each array, at any depth, replaced by an
    ``ArrayOut`` of its shape, and every leaf in order (an array's elements in C order), so an
    array comes back as one array (NumPy) or nested lists (Python). Iterative."""
    leaves: list = []

    def leaf(item: Any) -> Any:
        if not _is_array(item):
            leaves.append(item)
            return item
        elements = item.ravel().tolist()
        for x in elements:
            if isinstance(x, list | tuple) or _is_array(x):
                raise TypeError(
                    "an array in outputs must hold expressions or numbers, not "
                    f"{type(x).__name__}; give a list for nested structure"
                )
        leaves.extend(elements)
        return ArrayOut(tuple(int(d) for d in item.shape))

    return map_leaves(outputs, leaf), leaves


def _doc(arg_info: list, backend: str) -> str:
    args = ", ".join(n if s is None else f"{n}: {s}" for n, s in arg_info)
    needs = "the standard library" if backend == "python" else "NumPy"
    return (
        f"Generated by symgrad {__version__} ({backend} backend); needs only {needs}.\n\n"
        f"f({args})\n"
    )


def as_output(x: Any) -> Expr:
    return as_expr(x, "output")
