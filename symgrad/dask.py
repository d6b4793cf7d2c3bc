"""``sg.dask``: a compiled NumPy-backend function over chunked Dask arrays, summed.

When the data set outgrows one machine, the per-sample loss compiled once with
``sg.compile(..., backend="numpy", reduce="sum")`` runs on every block of a chunked
``dask.array`` (the function travels to the workers by its source, see ``CompiledFunction``) and
the block sums are added. Dask is optional: ``pip install "symgrad[dask]"``. This module imports
Dask only when called, so ``import symgrad`` never needs it.
"""

from __future__ import annotations

import string
from typing import Any

from .api import CompiledFunction
from .ir import leaves, unflatten

INSTALL_HINT = 'symgrad.dask needs Dask; install it with: pip install "symgrad[dask]"'


def _dask_array():
    try:
        import dask.array as da
    except ImportError as e:
        raise ImportError(INSTALL_HINT) from e
    return da


def _block_sums(fn: CompiledFunction, *blocks: Any) -> Any:
    """One block's contribution: every output summed over all its axes, as a (1, K) row."""
    import numpy as np

    with np.errstate(all="ignore"):
        return np.array([[np.sum(leaf) for leaf in leaves(fn(*blocks))]], dtype=np.float64)


def _check(fn: Any, args: tuple) -> None:
    if not isinstance(fn, CompiledFunction) or fn.backend != "numpy":
        raise TypeError(
            f"fn must be a function compiled with sg.compile(..., backend='numpy'), got {fn!r:.80}"
        )
    if fn.reduce == "mean":
        raise ValueError(
            "fn was compiled with reduce='mean', and means of blocks do not add up; "
            "compile it with reduce='sum' (or None) and divide the total by the sample count"
        )


def sum_blocks(fn: CompiledFunction, *args: Any) -> Any:
    """A lazy 1-D Dask array holding every output of ``fn`` summed over all samples.

    ``args`` are ``fn``'s arguments in order; Dask arrays carry the samples along axis 0 (their
    chunks along axis 0 are aligned; other axes may be chunked too), anything else (parameters)
    is passed whole to every block. Outputs appear flattened in order.
    """
    import numpy as np

    da = _dask_array()
    _check(fn, args)
    lazy = [i for i, a in enumerate(args) if isinstance(a, da.Array)]
    if not lazy:
        raise TypeError("no argument is a dask.array; call fn directly on NumPy data instead")
    n = {args[i].shape[0] if args[i].ndim else None for i in lazy}
    if len(n) != 1 or None in n:
        sizes = ", ".join(f"argument {i + 1}: {args[i].shape}" for i in lazy)
        raise ValueError(
            f"the dask.array arguments must share the sample axis 0 (same length), got {sizes}"
        )
    k = _n_outputs(fn, args, lazy)
    pairs: list[Any] = []
    letters = iter(string.ascii_letters.replace("i", "").replace("k", ""))
    for a in args:
        if isinstance(a, da.Array):
            pairs += [a, "i" + "".join(next(letters) for _ in range(a.ndim - 1))]
        else:
            pairs += [a, None]
    rows = da.blockwise(
        _block_sums,
        "ik",
        fn,
        None,
        *pairs,
        new_axes={"k": k},
        adjust_chunks={"i": 1},
        concatenate=True,
        dtype=np.float64,
        meta=np.empty((0, 0), dtype=np.float64),
    )
    return rows.sum(axis=0)


def _n_outputs(fn: CompiledFunction, args: tuple, lazy: list[int]) -> int:
    return len(leaves(fn(*_probe(args, lazy))))


def _probe(args: tuple, lazy: list[int]) -> list:
    """One all-zero sample in place of each Dask argument: enough to count the outputs."""
    import numpy as np

    return [np.zeros((1,) + args[i].shape[1:]) if i in lazy else a for i, a in enumerate(args)]


def value_and_grad_sum(fn: CompiledFunction, *args: Any, **compute_kwargs: Any) -> Any:
    """Every output of ``fn`` summed over all samples of the Dask arrays in ``args``, computed.

    The result has ``fn``'s output structure (for ``[loss, gradient]``: the total loss and the
    summed gradient) as Python floats, equal to one ``reduce="sum"`` call on all the data up to
    rounding. ``compute_kwargs`` go to ``dask.compute`` (``scheduler=...``); an active
    ``distributed.Client`` is used when there is one.
    """
    da = _dask_array()
    _check(fn, args)
    lazy = [i for i, a in enumerate(args) if isinstance(a, da.Array)]
    totals = sum_blocks(fn, *args).compute(**compute_kwargs)
    structure = fn(*_probe(args, lazy))
    values = [float(v) for v in totals]
    return unflatten(structure, values) if isinstance(structure, list | tuple) else values[0]


__all__ = ["value_and_grad_sum", "sum_blocks", "INSTALL_HINT"]
