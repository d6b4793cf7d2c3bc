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
Slot = tuple[Path, int, Any]  # path, number of nonzeros, the validated template csr_array


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
    rebuilds each (path, nonzeros, a template ``csr_array`` of the structure, made and checked
    by SciPy's constructor here, once).
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
    csr_array = require_scipy().csr_array
    import numpy as np

    found.sort(key=lambda p: p[0])
    out = []
    for path, s in found:
        cols, indptr = np.asarray(s.cols, np.int32), np.asarray(s.indptr, np.int32)
        template = csr_array((np.zeros(s.nnz), cols, indptr), shape=s.shape)  # checked once
        out.append((path, s.nnz, template))
    return out


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


def _csr(values: Any, nnz: int, template: Any) -> Any:
    """A csr_array of ``template``'s structure holding ``values``. SciPy's constructor
    re-checks the structure on every call (about 100 µs, more than computing a Hessian of
    thousands of entries); the structure was checked once at compile time, so the result is the
    template's copy: its attributes, fresh index arrays (a caller may change one result in
    place without touching the next) and the new data."""
    import numpy as np

    data = np.asarray(values, dtype=np.float64)
    if data.shape != (nnz,):
        raise ValueError(
            f"an sg.Sparse output needs unbatched arguments (got values of shape {data.shape}); "
            "call once per point, or compile the values (Sparse.values) as a plain list"
        )
    state = getattr(template, "__dict__", None)
    if state is None or not {"data", "indices", "indptr"} <= state.keys():  # another SciPy
        return type(template)(
            (data, template.indices.copy(), template.indptr.copy()), template.shape
        )
    out = type(template).__new__(type(template))
    out.__dict__.update(state)
    out.data, out.indices, out.indptr = data, template.indices.copy(), template.indptr.copy()
    return out


def rebuild(result: Any, layout: list[Slot]) -> Any:
    """``result`` with each Sparse slot's flat vector of nonzeros made a CSR array (the lists
    and tuples on the way copied, so the structure is the one compiled)."""
    for path, nnz, template in layout:
        if not path:
            return _csr(result, nnz, template)
        chain = [result]  # the containers from the top down to the slot's parent
        for k in path[:-1]:
            chain.append(chain[-1][k])
        new = _csr(chain[-1][path[-1]], nnz, template)
        for container, k in zip(reversed(chain), reversed(path)):
            items = list(container)
            items[k] = new
            if isinstance(container, tuple):
                new = type(container)(*items) if hasattr(container, "_fields") else tuple(items)
            else:
                new = items
        result = new
    return result
