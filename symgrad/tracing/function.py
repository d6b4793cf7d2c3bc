"""``TracedFunction``: a Python function traced, transformed and compiled, one program per path.

A call is flattened into a structure key (shapes, static values; never the data) and leaves.
For each key the function is traced once per *path*: a trace runs ``fn`` on stand-ins inside a
``TraceContext`` that knows this call's numbers, so Python branches on traced values follow
them and are recorded as guards. A later call runs a path's program only after its guards hold
at the new arguments (a small separate program); otherwise it retraces. Paths are kept in a
bounded LRU cache; a warning says when a function retraces on most calls.

Called with traced arguments (inside another transform's trace), it traces symbolically
instead: fresh symbols for the differentiated arguments, the answer built as expressions and
substituted back, its guards handed to the enclosing trace. That is what makes transforms
nest (``grad(grad(f))``, ``jacobian(grad(f))``).
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .. import api
from ..errors import RetraceWarning
from ..ir import gc_paused
from . import check, results
from .args import STATIC, Leaf, as_input, flatten, is_traced, leaf_shape, leaf_values, unflatten
from .builders import Group
from .context import TraceContext, tracing
from .methods import bytes_message
from .paths import Path, compile_path

MAX_PATHS = 64


def _nums(argnums: Any, what: str) -> tuple[int, ...]:
    nums = argnums if isinstance(argnums, tuple | list) else (argnums,)
    if any(isinstance(a, bool) or not isinstance(a, int) for a in nums):
        raise TypeError(f"{what} must be an int or a tuple of ints, not {argnums!r}")
    if len(set(nums)) != len(nums):
        raise ValueError(f"{what} {argnums!r} names an argument twice; name each once")
    return tuple(nums)


class TracedFunction:
    """The callable that ``sg.grad``, ``sg.value_and_grad``, ``sg.jacobian`` ... return.

    ``source`` is the program (and its guards) of the path used last; ``traces`` counts the
    traces (one per argument structure and Python path); ``calls`` the calls.
    """

    def __init__(
        self,
        fn: Callable,
        argnums: Any,
        build: Callable,
        *,
        kind: str,
        has_aux: bool = False,
        static_argnums: Any = (),
        batch_argnums: Any = None,
        reduce: str = "sum",
        backend: str | None = None,
        max_paths: int = MAX_PATHS,
        check_trace: bool = True,
    ):
        if not callable(fn):
            raise TypeError(f"fn must be a callable, not {type(fn).__name__}")
        nums = _nums(argnums, "argnums")
        if not nums and kind not in ("value",):
            raise TypeError(f"argnums must name at least one argument, not {argnums!r}")
        self.static = _nums(static_argnums, "static_argnums")
        self.batch = None if batch_argnums is None else _nums(batch_argnums, "batch_argnums")
        if set(nums) & set(self.static):
            raise ValueError("an argument cannot be both differentiated (argnums) and static")
        if self.batch and set(self.batch) & (set(nums) | set(self.static)):
            raise ValueError(
                "a batch_argnums argument holds data: it cannot be differentiated or static"
            )
        if reduce not in ("sum", "mean"):
            raise ValueError(f"reduce must be 'sum' or 'mean', not {reduce!r}")
        self.backend = _backend(backend, self.batch is not None)
        self.fn, self.argnums, self.build, self.kind = fn, argnums, build, kind
        self.has_aux, self.reduce, self.max_paths = has_aux, reduce, max_paths
        self.check_trace = bool(check_trace)
        self.single = not isinstance(argnums, tuple | list)
        self.traces = self.calls = 0
        self._warned = False
        self._paths: OrderedDict[tuple, list[Path]] = OrderedDict()
        self._last: Path | None = None
        self._names = _param_names(fn)
        self.__name__ = getattr(fn, "__name__", "fn")
        functools.update_wrapper(self, fn, updated=())

    # -- what users read ------------------------------------------------------------------
    @property
    def compiled(self) -> api.CompiledFunction:
        """The compiled program of the path the last call took."""
        if self._last is None:
            raise ValueError("nothing is compiled yet: call the function once to trace it")
        return self._last.compiled

    @property
    def source(self) -> str:
        """The generated module the last call ran, followed by the guards it checked."""
        self.compiled  # noqa: B018 - raises before the first call
        return self._last.source()

    def __repr__(self) -> str:
        return (
            f"<symgrad.{self.kind}({self.__name__}, argnums={self.argnums!r}) "
            f"[{self.traces} trace(s)]>"
        )

    # -- calling --------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if is_traced(args) or is_traced(kwargs):
            from .symbolic import call_symbolic

            return call_symbolic(self, args, kwargs)
        self.calls += 1
        diff = self._positions(len(args))
        key, flat = self._key(args, kwargs)
        inputs, guard_inputs = self._inputs(flat, len(args))
        paths = self._paths.get(key)
        path = self._find(paths, guard_inputs) if paths else None
        if path is not None:
            self._paths.move_to_end(key)  # least recently used first, for eviction
        else:
            with gc_paused():  # stand-ins and traced nodes build no cycles (see ir.gc_paused)
                path = self._trace(args, kwargs, flat, diff, inputs)
            self._remember(key, path)  # only a path that passed the trace check
        self._last = path
        return path.run(inputs)

    def _positions(self, nargs: int) -> tuple[int, ...]:
        out = []
        for a in _nums(self.argnums, "argnums"):
            if not -nargs <= a < nargs:
                raise ValueError(
                    f"argnums={self.argnums!r} asks for argument {a}, but the function was "
                    f"called with {nargs} positional argument(s); pass it positionally"
                )
            out.append(a % nargs)
        return tuple(out)

    def label(self, i: int) -> str:
        return self._names[i] if i < len(self._names) else f"arg{i}"

    def _key(self, args: tuple, kwargs: dict) -> tuple[tuple, list]:
        n = len(args)
        static = {a % n for a in self.static if -n <= a < n}
        flat, key = [], [n, tuple(sorted(kwargs))]
        for i, v in enumerate(list(args) + [kwargs[k] for k in sorted(kwargs)]):
            if i in static:
                try:
                    hash(v)
                except TypeError:
                    raise TypeError(
                        f"static argument {self.label(i)!r} must be hashable (its value selects "
                        f"a trace), not {type(v).__name__}"
                    ) from None
                flat.append(None)
                key.append((STATIC, type(v), v))
                continue
            lbl = self.label(i) if i < n else sorted(kwargs)[i - n]
            tokens, leaves, labels = flatten(v, lbl)
            if self.batch is not None and i in {b % n for b in self.batch}:
                tokens = _unbatched_tokens(tokens, leaves, lbl)
            flat.append((tokens, leaves, labels))
            key.append(tuple(tokens))
        return tuple(key), flat

    def _is_batched(self, i: int, n: int) -> bool:
        return self.batch is not None and i < n and i in {b % n for b in self.batch if -n <= b < n}

    def _inputs(self, flat: list, n: int) -> tuple[list, list]:
        """The compiled program's arguments (every leaf with a number in it, in order) and
        the guard program's (the same without the batch arguments)."""
        inputs, guard_inputs = [], []
        for i, f in enumerate(flat):
            if f is None:
                continue
            batched = self._is_batched(i, n)
            for v in f[1]:
                shape = getattr(v, "shape", ())
                per_sample = shape[1:] if batched else shape
                if all(per_sample):
                    x = as_input(v)
                    inputs.append(x)
                    if not batched:
                        guard_inputs.append(x)
        return inputs, guard_inputs

    def _find(self, paths: list[Path], guard_inputs: list) -> Path | None:
        for j, p in enumerate(paths):
            if p.holds(guard_inputs):
                if j:
                    paths.insert(0, paths.pop(j))
                return p
        return None

    def _remember(self, key: tuple, path: Path) -> None:
        self._paths.setdefault(key, []).insert(0, path)
        self._paths.move_to_end(key)
        total = sum(len(v) for v in self._paths.values())
        while total > self.max_paths:
            oldest_key = next(iter(self._paths))
            self._paths[oldest_key].pop()
            if not self._paths[oldest_key]:
                del self._paths[oldest_key]
            total -= 1
        if not self._warned and self.calls >= 8 and self.traces * 2 > self.calls:
            self._warned = True
            warnings.warn(
                f"{self.__name__} was traced {self.traces} times in {self.calls} calls: a Python "
                "branch (if/while/int()/min() on a traced value) goes another way on most calls, "
                "and each new path is traced and compiled again. Write value-dependent choices "
                "with np.where / sg.where, or pass such arguments as static_argnums",
                RetraceWarning,
                stacklevel=3,
            )

    # -- tracing --------------------------------------------------------------------------
    def _trace(self, args: tuple, kwargs: dict, flat: list, diff: tuple, inputs: list) -> Path:
        n = len(args)
        ctx = TraceContext(name=self.__name__)
        values, groups, compile_inputs, guard_syms, samples = [], [], [], [], []
        for i, f in enumerate(flat):
            if f is None:
                values.append(args[i])
                groups.append(None)
                continue
            tokens, leaves, labels = f
            batched = self._is_batched(i, n)
            if i in diff and any(t[0] == STATIC for t in tokens):
                raise TypeError(
                    f"argument {self.label(i)!r} is differentiated (argnums={self.argnums!r}) "
                    "but holds None, bool or str values; only numbers and arrays can be "
                    "differentiated: move them to another argument"
                )
            stand = []
            for v, lbl in zip(leaves, labels):
                shape = leaf_shape(v)
                leaf = Leaf(lbl, shape[1:] if batched else shape)
                stand.append(leaf)
                if leaf.syms:
                    item = leaf.input_item()
                    compile_inputs.append(item)
                    if batched:
                        ctx.batched.update(s.serial for s in leaf.syms)
                        samples.append((leaf.syms, v))
                    else:
                        ctx.bind(leaf.syms, leaf_values(v))
                        guard_syms.append(item)
                if i in diff:
                    ctx.diff.update(s.serial for s in leaf.syms)
            groups.append(Group(tokens, stand))
            values.append(unflatten(tokens, [leaf.traced for leaf in stand]))
        plain = self._plain(ctx, args, kwargs, flat, samples)
        result = self.run_traced(
            ctx, values[:n], dict(zip(sorted(kwargs), values[n:])), groups, diff, plain
        )
        self.traces += 1
        return compile_path(self, result, compile_inputs, guard_syms, ctx.guards)

    def _plain(self, ctx: TraceContext, args: tuple, kwargs: dict, flat: list, samples: list):
        """The trace check's plain arguments, made when it runs (None: no check); a batch
        argument's symbols take its first sample's values, for the check only."""
        if not self.check_trace:
            return None

        def make() -> tuple | None:
            if any(not len(v) for _, v in samples):
                return None  # an empty batch: no sample to check
            ctx.batched.clear()  # the trace is over: per-sample symbols may take sample 0
            for syms, v in samples:
                ctx.bind(syms, leaf_values(v[0]))
            return check.plain_arguments(self, args, kwargs, flat)

        return make

    def run_traced(
        self,
        ctx: TraceContext,
        args: list,
        kwargs: dict,
        groups: list,
        diff: tuple,
        plain: Callable[[], tuple | None] | None = None,
    ) -> Any:
        """``fn`` on stand-ins inside ``ctx``, then the transform's answer (a structure),
        after the trace check (``plain`` makes its arguments; see ``check.py``)."""
        with tracing(ctx):
            try:
                out = self.fn(*args, **kwargs)
                ctx.check_escapes(out)
            except TypeError as e:
                if "bytes-like object is required, not 'Traced" in str(e):
                    what = "np.frombuffer (or memoryview, bytes)"
                    raise TypeError(f"{self.__name__}: {bytes_message(what)}") from e
                if hasattr(e, "add_note"):  # Python >= 3.11
                    e.add_note(f"(raised while tracing {self.__name__} with symbolic arguments)")
                raise
            finally:
                ctx.close()
        aux = None
        if self.has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError(
                    f"{self.__name__} was transformed with has_aux=True, so it must return a "
                    f"pair (output, aux), not {type(out).__name__}"
                )
            out, aux = out
        answer = self.build(out, groups, diff, self.single, self.__name__)
        if plain is not None and not ctx.nested:
            check.compare(self.__name__, ctx, (out, aux) if self.has_aux else out, plain(), self.fn)
        if not self.has_aux:
            return answer
        if self.kind == "value_and_grad":
            return ((answer[0], aux), answer[1])
        return (answer, aux)


def _unbatched_tokens(tokens: list, leaves: list, label: str) -> list:
    """A batch argument's tokens with the batch axis left out (its length is data)."""
    out = []
    for t in tokens:
        if t[0] == "A":
            if len(t[1]) == 0:
                raise ValueError(f"batch argument {label!r} must have a leading batch axis")
            out.append(("A", t[1][1:]))
        elif t[0] == "S":
            raise ValueError(
                f"batch argument {label!r} holds a number; every leaf of a batch argument is an "
                "array whose first axis is the batch"
            )
        else:
            out.append(t)
    return out


def _backend(backend: str | None, batched: bool) -> str:
    if backend is None:
        if not batched:
            return "python"
        from ..backends.c.cache import find_compiler

        try:
            find_compiler()
            return "c"
        except Exception:  # no compiler of any kind: the NumPy backend
            return "numpy"
    if backend not in api.BACKENDS:
        raise ValueError(f"backend must be one of {sorted(api.BACKENDS)}, not {backend!r}")
    if batched and backend == "python":
        raise ValueError("batch_argnums needs a batched backend: backend='numpy' or 'c'")
    return backend


def _param_names(fn: Callable) -> list[str]:
    """Positional parameter names of ``fn`` (labels for its symbols; never code)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    names = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        else:
            break
    return names


__all__ = ["TracedFunction", "RetraceWarning", "results"]
