"""``sg.Sparse`` among a compiled function's outputs: the structure is fixed at compile time; a
call fills a flat vector of the nonzeros (row-major), which becomes a ``scipy.sparse.csr_array``.

``sg.compile`` hands each ``Sparse`` to the backend as a 1-d array output of its nonzeros, so
every backend prints the same code it prints for any other vector; the index arrays are made
here once. Only SciPy's array type is needed, and only when a ``Sparse`` is compiled.
"""

from __future__ import annotations

from typing import Any

from .autodiff.sparse import Sparse

Path = tuple[int, ...]  # the indices leading from the outputs to one Sparse ((): outputs itself)
Slot = tuple[Path, tuple[int, int], Any, Any]  # path, shape, indptr, column indices


def require_scipy() -> Any:
    """``scipy.sparse``, or an ``ImportError`` naming the extra that brings it."""
    try:
        import scipy.sparse
    except ImportError as exc:
        raise ImportError(
            "compiling an sg.Sparse output returns scipy.sparse.csr_array, which needs SciPy: "
            "pip install 'symgrad[examples]' (or pip install scipy)"
        ) from exc
    return scipy.sparse


def slots(outputs: Any) -> list[Slot]:
    """Where the ``Sparse`` outputs sit in the nested lists/tuples of ``outputs`` and what
    rebuilds each (path, shape, indptr, column indices); the index arrays are made here, once.
    Empty when there is none (then nothing below runs, and SciPy is not imported)."""
    found: list[tuple[Path, Sparse]] = []
    stack: list[tuple[Path, Any]] = [((), outputs)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, Sparse):
            found.append((path, item))
        elif isinstance(item, list | tuple):
            stack.extend((path + (k,), x) for k, x in enumerate(item))
    if not found:
        return []
    require_scipy()
    import numpy as np

    found.sort(key=lambda p: p[0])
    return [
        (path, s.shape, np.asarray(s.indptr, np.int32), np.asarray(s.cols, np.int32))
        for path, s in found
    ]


def stats(outputs: Any) -> dict:
    """``fn.stats`` entries: the colours (products) and nonzeros of the Sparse outputs, in
    order; plain numbers for one, lists for several."""
    found: list[Sparse] = []
    stack = [outputs]
    while stack:
        item = stack.pop()
        if isinstance(item, Sparse):
            found.append(item)
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item))
    if len(found) == 1:
        return {"colors": found[0].colors, "nnz": found[0].nnz}
    return {"colors": [s.colors for s in found], "nnz": [s.nnz for s in found]}


def _csr(values: Any, shape: tuple[int, int], indptr: Any, cols: Any) -> Any:
    import numpy as np

    data = np.asarray(values, dtype=np.float64)
    if data.shape != (len(cols),):
        raise ValueError(
            f"an sg.Sparse output needs unbatched arguments (got values of shape {data.shape}); "
            "call once per point, or compile the values (Sparse.values) as a plain list"
        )
    # Fresh index arrays: a caller may change one result in place without touching the next.
    return require_scipy().csr_array((data, cols.copy(), indptr.copy()), shape=shape)


def rebuild(result: Any, layout: list[Slot]) -> Any:
    """``result`` with each Sparse slot's flat vector of nonzeros made a CSR array (the lists
    and tuples on the way copied, so the structure is the one compiled)."""
    for path, shape, indptr, cols in layout:
        if not path:
            return _csr(result, shape, indptr, cols)
        chain = [result]  # the containers from the top down to the slot's parent
        for k in path[:-1]:
            chain.append(chain[-1][k])
        new = _csr(chain[-1][path[-1]], shape, indptr, cols)
        for container, k in zip(reversed(chain), reversed(path)):
            items = list(container)
            items[k] = new
            if isinstance(container, tuple):
                new = type(container)(*items) if hasattr(container, "_fields") else tuple(items)
            else:
                new = items
        result = new
    return result
