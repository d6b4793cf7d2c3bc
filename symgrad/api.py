"""``sg.compile``: the one place that composes autodiff's output, the passes and a backend."""

from __future__ import annotations

import hashlib
import numbers
import sys
from collections import Counter
from collections.abc import Sequence
from itertools import compress, repeat
from operator import attrgetter, is_not
from typing import Any

from . import sparse_outputs, structure
from ._version import __version__
from .autodiff import provenance
from .autodiff.sparse import Sparse
from .backends import BACKENDS, Backend
from .backends import get as get_backend
from .backends.base import ArrayOut
from .backends.naming import LazyHints, NameScope, derivative_labels
from .backends.params import parameters
from .display import compiled_html
from .ir import Expr, count_ops, flatten, gc_paused, orders_shared
from .ir.traverse import order_and_leaves
from .ops import Op
from .passes import optimize

REDUCTIONS = (None, "sum", "mean")
_serial = attrgetter("serial")
__all__ = ["BACKENDS", "CompiledFunction", "compile"]


def _as_nested(item: Any) -> Any:
    if hasattr(item, "tolist") and hasattr(item, "dtype"):  # an object array of symbols
        return item.tolist()
    return item


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
        be = get_backend(backend)
        self.source = source
        self.backend = backend
        self.reduce = reduce  # None, or how the batch axes fold ("sum", "mean")
        self.stats = stats
        self._arg_info = arg_info
        self._nargs = len(arg_info)
        self._check = be.check_arg
        self._fn = be.load(source) if func is None else func
        # Trailing shape each array argument must have (batched backends' fast path).
        self._trailing = [tuple(shape or ()) for _, shape in arg_info]
        self._np_types: tuple = (None, None)
        self._fast_types: tuple | None = None
        self._list_args: list[tuple[int, tuple]] = []
        if be.batched:  # NumPy is a dependency of these backends, not of the core
            import numpy as np

            self._np_types = (np.ndarray, np.dtype(np.float64))
        else:  # floats, and lists of floats of the right shape, go straight in
            self._fast_types = tuple(list if shape else float for shape in self._trailing)
            self._list_args = [(i, shape) for i, shape in enumerate(self._trailing) if shape]
        # A loaded function may offer a checked native call entry (_c_fast) for floats and float64
        # arrays (C); it answers None for anything else, which then takes the checks below.
        caller = getattr(self._fn, "caller", None)
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
        if self._fast_types is not None:
            if tuple(map(type, args)) == self._fast_types:
                for i, shape in self._list_args:
                    if not _all_floats(args[i], shape):
                        break
                else:
                    return self._fn(*args)
        elif self._arrays_ready(args):
            return self._batched(args)
        if len(args) != self._nargs:
            names = ", ".join(n for n, _ in self._arg_info)
            raise TypeError(
                f"this compiled function takes {self._nargs} argument(s) ({names}), got {len(args)}"
            )
        check = self._check
        args = tuple(check(a, info, i) for i, (a, info) in enumerate(zip(args, self._arg_info)))
        return self._fn(*args) if self._fast_types is not None else self._batched(args)

    def _batched(self, args: tuple) -> Any:
        """The call on arrays; where NumPy cannot broadcast the arguments' batch axes, the
        error names each argument and its batch shape (NumPy's says only "arg 0, arg 1")."""
        try:
            return self._fn(*args)
        except ValueError:
            self._check_batch_axes(args)
            raise

    def _check_batch_axes(self, args: tuple) -> None:
        np = sys.modules["numpy"]
        shapes = []
        for a, want in zip(args, self._trailing):
            shape = np.shape(a)
            shapes.append(shape[: len(shape) - len(want)])
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            names = [n or str(info) for n, info in self._arg_info]
            listed = ", ".join(f"{n} {s}" for n, s in zip(names, shapes))
            raise ValueError(
                f"the arguments' batch axes do not broadcast: {listed}; give each batched "
                "argument the same leading axes (or 1 where it is shared)"
            ) from None

    def _arrays_ready(self, args: tuple) -> bool:
        """float64 arrays with the right trailing shapes go straight in (the common call)."""
        if len(args) != self._nargs:
            return False
        ndarray, f64 = self._np_types
        for a, want in zip(args, self._trailing):
            if type(a) is not ndarray or a.dtype != f64 or a.shape[a.ndim - len(want) :] != want:
                return False
        return True

    # -- travelling -----------------------------------------------------------------------
    def __reduce__(self):
        # By source: the receiver re-executes the module, so no code object crosses the wire.
        args = (self.source, self.backend, self._arg_info, self.stats, None, self.reduce)
        return (CompiledFunction, args)

    def save(self, path: str) -> None:
        """Write the standalone module (it needs no symgrad to run); for backend "c", the
        ``.c`` file and a small Python loader (``path`` a directory or a ``.c`` file name)."""
        save = get_backend(self.backend).save
        if save is not None:
            save(self.source, path)
            return
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.source)

    def __repr__(self) -> str:
        sig = ", ".join(n for n, _ in self._arg_info)
        return f"<symgrad.CompiledFunction f({sig}) [{self.backend}, {self.stats['ops']} ops]>"

    def _repr_html_(self) -> str:  # a notebook's view: signature, op counts, the source
        sig = ", ".join(n for n, _ in self._arg_info)
        return compiled_html(self.source, self.backend, self.stats, sig)


class _SparseOutputs(CompiledFunction):
    """A compiled function whose ``sg.Sparse`` outputs come back as ``scipy.sparse.csr_array``
    (a subclass, so plain functions keep their call path untouched)."""

    _layout: list

    @classmethod
    def wrap(cls, fn: CompiledFunction, layout: list) -> CompiledFunction:
        fn.__class__ = cls
        fn._layout = layout
        return fn

    def __call__(self, *args: Any) -> Any:
        return sparse_outputs.rebuild(CompiledFunction.__call__(self, *args), self._layout)

    def __reduce__(self):
        return (_restore_sparse, (CompiledFunction.__reduce__(self)[1], self._layout))


def _restore_sparse(args: tuple, layout: list) -> CompiledFunction:
    return _SparseOutputs.wrap(CompiledFunction(*args), layout)


def _all_floats(a: Any, shape: tuple[int, ...]) -> bool:
    """Whether ``a`` is nested lists of ``shape`` whose numbers sum to a float: the Python
    backend's fast path. ``sum`` is one C loop, and it fails (or gives a non-float) for any
    str, bytes, None, complex, date or list among the elements; ``False`` sends the call
    through the full checks, which name what is wrong."""
    if len(shape) == 1:
        level = a
        if type(a) is not list or len(a) != shape[0]:
            return False
    else:
        level = [a]
        for d in shape:
            for x in level:
                if type(x) is not list or len(x) != d:
                    return False
            level = [y for x in level for y in x]
    try:
        return type(sum(level)) is float
    except (TypeError, OverflowError):
        return False


def compile(  # the contract's name
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
    be = get_backend(backend)
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be None, 'sum' or 'mean', not {reduce!r}")
    if reduce is not None and not be.reduces:
        batched = [b.name for b in BACKENDS.values() if b.reduces]
        raise ValueError(
            f"reduce needs a batched backend; use backend={batched[0]!r} "
            f"(or one of {batched}), not {backend!r}"
        )
    if isinstance(inputs, Expr) or not isinstance(inputs, Sequence) or isinstance(inputs, str):
        raise TypeError(
            "inputs must be a list or tuple of symbols (or of lists of symbols), "
            f"got {type(inputs).__name__}; write [x] for one symbol"
        )
    scope = NameScope()
    names: dict[int, str] = {}
    with gc_paused():  # IR, claims and printing build no cycles; see ir.gc_paused
        params, arg_info = parameters([_as_nested(raw) for raw in inputs], scope, names)
        layout = sparse_outputs.slots(outputs)  # where sg.Sparse outputs sit (usually none)
        structure_, leaves = _split_outputs(outputs)
        roots = leaves if set(map(type, leaves)) <= {Expr} else flatten(leaves)  # a gradient
        claims = provenance.snapshot(roots)  # what each output is the derivative of

        def labels() -> list[str | None]:  # g_w0: names from the claims, if a backend asks
            return derivative_labels(roots, claims, names)

        with orders_shared():  # the check, the passes and the printer walk the graph once
            order, forward_ops = _check_closed(roots, names)
            passed = optimize(roots, order=order) if optimize_passes else roots
            fn = _compile(params, arg_info, names, scope, passed, structure_, be, reduce, labels)
            fn.stats.update(_cost_split(roots, passed, forward_ops, fn.stats["ops"]))
    # What sg.verify(fn) needs: the input symbols and the outputs as given, before any pass.
    fn.inputs = [_as_nested(raw) for raw in inputs]
    fn.output_exprs = roots
    fn.output_claims = claims
    if not layout:
        return fn
    fn.stats.update(sparse_outputs.stats(outputs))
    return _SparseOutputs.wrap(fn, layout)


def _check_closed(roots: list[Expr], names: dict[int, str]) -> tuple[list[Expr], int]:
    """Refuse outputs that read a symbol not among the inputs; returns the walk's order (for
    the passes) and the op count of the first output (the same walk: see
    ``order_and_leaves``), for ``_cost_split``."""
    order, leaves, first_ops = order_and_leaves(roots)
    symbol = Op.SYMBOL  # a local: looking the enum member up per node costs more than the test
    missing = sorted(
        (n for n in leaves if n.op is symbol and n.serial not in names), key=lambda n: n.serial
    )
    if missing:
        labels = ", ".join(repr(m.payload) for m in missing)
        raise ValueError(
            f"outputs depend on symbols that are not inputs: {labels}; add them to inputs"
        )
    return order, first_ops


def _compile(params, arg_info, names, scope, roots, structure_, be, reduce, labels):
    """Lowering, code generation and loading of ``roots`` (after the passes, if any), once
    the inputs and outputs are checked. ``labels()[i]`` names the line computing output ``i``
    (kept through the passes by position), made when the printer first asks for a name."""
    scope.hints = LazyHints(lambda: _hint_table(roots, labels()))
    # The docstring shows the generated parameter names: a raw label there could close the
    # docstring and reach the module's code (names are labels, never code).
    doc = _doc([(p, s) for (p, _), (_, s) in zip(params, arg_info)], be)
    options = be.lower(roots, reduce=reduce)
    source, prog = be.generate(params, roots, structure_, names, scope.copy, doc, **options)
    stats = {
        "ops": prog.n_ops,
        "by_op": dict(Counter(prog.op_counts).most_common()),
        "lines": len(prog.lines),
        "source_lines": source.count("\n"),
        "source_sha1": hashlib.sha1(source.encode()).hexdigest()[:12],
    }
    return CompiledFunction(source, be.name, arg_info, stats, reduce=reduce)


def _hint_table(roots: list[Expr], labels: list[str | None]) -> dict[int, str]:
    """Serial -> label of the roots that have one (of a node given twice, its last label)."""
    serials = map(_serial, roots)
    return dict(compress(zip(serials, labels), map(is_not, labels, repeat(None))))


def _cost_split(roots: list[Expr], optimized: list[Expr], first: int, total_ops: int) -> dict:
    """The first output's own op count (the forward value, when the outputs are ``[f, grad]``)
    against the whole program's, so a user sees what the gradient costs over the function.
    ``first`` counts ``roots[0]``; the passes may have changed it (``optimized``)."""
    if not roots:
        return {}
    if optimized[0] is not roots[0]:
        first = count_ops([optimized[0]])
    return {
        "forward_ops": first,
        "rest_ops": total_ops - first,
        "ratio_to_forward": total_ops / first if first else None,
    }


def _is_array(x: Any) -> bool:
    # Duck-typed (no NumPy import here); NumPy scalars are numbers, 0-d arrays are arrays.
    return hasattr(x, "shape") and hasattr(x, "ravel") and not isinstance(x, numbers.Number)


def _split_outputs(outputs: Any) -> tuple[Any, list]:
    """(structure, leaves): ``outputs`` with each array, at any depth, replaced by an
    ``ArrayOut`` of its shape, and every leaf in order (an array's elements in C order), so an
    array comes back as one array (NumPy) or nested lists (Python)."""
    leaves: list = []

    def leaf(item: Any) -> Any:
        if isinstance(item, Sparse):  # its nonzeros, as one flat vector (see sparse_outputs)
            leaves.extend(item.values)
            return ArrayOut((item.nnz,))
        if not _is_array(item):
            leaves.append(item)
            return item
        elements = item.ravel().tolist()
        plain = {Expr, float, int}  # never a container or an array (Expr has __slots__)
        for x in elements if not set(map(type, elements)) <= plain else ():
            if isinstance(x, list | tuple) or _is_array(x):
                raise TypeError(
                    "an array in outputs must hold expressions or numbers, not "
                    f"{type(x).__name__}; give a list for nested structure"
                )
        leaves.extend(elements)
        return ArrayOut(tuple(int(d) for d in item.shape))

    def is_leaf(x: Any) -> bool:
        return isinstance(x, dict) or _is_array(x)

    return structure.map(leaf, outputs, is_leaf=is_leaf), leaves


def _doc(arg_info: list, be: Backend) -> str:
    args = ", ".join(n if s is None else f"{n}: {s}" for n, s in arg_info)
    return (
        f"Generated by symgrad {__version__} ({be.name} backend); needs only {be.needs}.\n\n"
        f"f({args})\n"
    )
