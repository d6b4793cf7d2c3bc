"""Running the C backend's phased form (``mixed``): the kernels through ctypes, the products
through NumPy's BLAS, over the batch in blocks of samples.

A call flattens each argument to ``(samples, values)`` (or one row of values when it has no
batch axes: stride 0), then per block of samples runs phase 0's kernel, the products after
it, phase 1's kernel, ... and adds the block's reduced outputs (sums, dot products, outer
products summed over the samples) into the call's totals. The rows a kernel writes and a
product reads live in a per-thread workspace made once per block size, so a call allocates
only its outputs.
"""

from __future__ import annotations

import ctypes
import math
import threading
import weakref

import numpy as np

from .abi import check_arrays
from .mixed import read_plan


def _ranges(runs: list, shape: list) -> np.ndarray:
    parts = [s + d * np.arange(n) for s, n, d in runs]
    return np.concatenate([np.arange(0), *parts]).astype(np.intp).reshape(shape)


class _Step:
    """One product: ``rows = W[:, :k] @ vectors (+ W[:, k])``, ``W`` gathered from a
    parameter by ``index`` (a strided view when the index is affine, as in a dense layer)."""

    lanewise = False

    def __init__(self, p: dict) -> None:
        self.after, self.param, self.k, self.bias = p["after"], p["param"], p["k"], p["bias"]
        self.index = _ranges(p["index"], p["shape"])
        self.vectors = p["vectors"]
        self.rows = p["shape"][0]
        self.affine = _affine(self.index)

    def weights(self, flat: np.ndarray) -> np.ndarray:
        """``W`` from one sample's (or the unbatched) parameter values: a view when the index
        is affine (a layer's weights, or their transpose), else a gathered copy."""
        if self.affine is None:
            return flat[self.index]
        start, rs, cs, flip = self.affine
        w = np.lib.stride_tricks.as_strided(
            flat[start:], self.index.shape, (rs * flat.itemsize, cs * flat.itemsize)
        )
        return w[flip]


class _Lanewise:
    """An elementwise step: its kernel ``sg_e<s>`` writes its rows."""

    lanewise = True

    def __init__(self, p: dict, fn) -> None:
        self.after, self.rows, self.fn = p["after"], p["rows"], fn


def _affine(index: np.ndarray) -> tuple | None:
    """(start, row step, column step, flips) when ``index``, its rows and columns reversed
    by ``flips`` where a step is negative, is ``start + r*rs + c*cs`` with steps >= 0."""
    r, c = index.shape
    flip = (
        slice(None, None, -1 if r > 1 and index[1, 0] < index[0, 0] else 1),
        slice(None, None, -1 if c > 1 and index[0, 1] < index[0, 0] else 1),
    )
    index = index[flip]
    start = int(index[0, 0])
    rs = int(index[1, 0] - start) if r > 1 else 0
    cs = int(index[0, 1] - start) if c > 1 else 0
    expect = start + rs * np.arange(r)[:, None] + cs * np.arange(c)[None, :]
    ok = rs >= 0 and cs >= 0 and np.array_equal(expect, index)
    return (start, rs, cs, flip) if ok else None


class MixedFunction:
    """A loaded phased program; called like ``NativeFunction`` (float64 arrays in)."""

    on_vm = False

    def __init__(self, source: str, meta: dict, pack, has_arrays: bool, library: str,
                 release=None) -> None:  # fmt: skip
        """``library``: the built ``source``; ``release(handle)`` unmaps it when this is freed."""
        plan = read_plan(source)
        self.source_text = source
        self.library_path = library
        lib = ctypes.CDLL(library)
        if release is not None:
            weakref.finalize(self, release, lib._handle)
        self._kernels = []
        for k, has in enumerate(plan["kernels"]):
            self._kernels.append(_kernel(lib, f"sg_k{k}") if has else None)
        self._lib = lib
        self._args = [tuple(a) for a in meta["args"]]
        self._m, self._reduce = meta["m"], meta["reduce"]
        self._pack, self._has_arrays = pack, has_arrays
        self._n_args, self._n_steps, self._n_phases = plan["blocks"]
        self._phase_rows = plan["rows"]
        self._steps = [
            _Lanewise(p, _kernel(lib, f"sg_e{s}")) if p.get("lanewise") else _Step(p)
            for s, p in enumerate(plan["steps"])
        ]
        self._after = [[s for s, st in enumerate(self._steps) if st.after == k]
                       for k in range(self._n_phases)]  # fmt: skip
        self._items = plan["items"]
        # every reduced total is a view into one flat buffer: no concatenation after the loop
        self._shapes = [_shape(it) for it in self._items]
        self._flat_size = sum(math.prod(sh) for sh in self._shapes)
        self._pick = _ranges(plan["picks"], [-1])
        # the outputs often are the totals in order (a layer's gradient, row by row)
        self._in_order = np.array_equal(self._pick, np.arange(self._pick.size))
        self._roots = None  # unreduced: per phase, (output rows, slot rows) to copy out
        if plan.get("roots") is not None:
            at = np.array(plan["roots"], dtype=np.intp).reshape(-1, 2)
            self._roots = [
                (np.flatnonzero(at[:, 0] == k), at[at[:, 0] == k, 1]) for k in range(self._n_phases)
            ]
        self._block = plan["block"]  # samples per block, the row length of every block
        self._local = threading.local()

    # -- arguments -----------------------------------------------------------------------

    def _prepare(self, arrays: tuple) -> tuple[list, list[bool], int, tuple]:
        """Each argument as (samples, values) or (values,); whether it is batched; samples;
        the batch shape."""
        shapes = [a.shape[: a.ndim - nd] for a, (_, nd) in zip(arrays, self._args)]
        batch = np.broadcast_shapes(*shapes) if shapes else ()
        n = math.prod(batch)
        out, batched = [], []
        for a, b, (k, nd) in zip(arrays, shapes, self._args):
            if math.prod(b) == 1 and (b != batch or n == 1):
                out.append(np.ascontiguousarray(a).reshape(k))
                batched.append(False)
                continue
            if b != batch:
                a = np.broadcast_to(a, batch + a.shape[a.ndim - nd :])
            out.append(np.ascontiguousarray(a).reshape(n, k))
            batched.append(True)
        return out, batched, n, batch

    def _workspace(self) -> tuple:
        """(blocks, pointer array, stride array) for this thread, made once."""
        ws = getattr(self._local, "ws", None)
        if ws is None:
            c = self._block
            sizes = [st.rows for st in self._steps] + self._phase_rows
            bufs = [np.empty((r, c)) for r in sizes]
            ptrs = (ctypes.c_void_p * (self._n_args + len(bufs)))()
            for i, b in enumerate(bufs):
                ptrs[self._n_args + i] = b.ctypes.data
            strides = (ctypes.c_longlong * max(1, self._n_args))()
            ws = self._local.ws = (bufs, ptrs, strides)
        return ws

    # -- the call ------------------------------------------------------------------------

    def __call__(self, *arrays, raw: bool = False):
        check_arrays(arrays, self._args)
        args, batched, n, batch = self._prepare(arrays)
        bufs, ptrs, strides = self._workspace()
        for q, (a, b) in enumerate(zip(args, batched)):
            strides[q] = a.shape[1] if b else 0
        weights = [
            None if st.lanewise or batched[st.param] else st.weights(args[st.param])
            for st in self._steps
        ]
        flat, totals = self._totals(n)
        per_sample = None if self._roots is None else np.empty((self._m, n))
        with np.errstate(all="ignore"):
            for j0 in range(0, n, self._block):
                c = min(self._block, n - j0)
                for q, (a, b) in enumerate(zip(args, batched)):
                    ptrs[q] = a.ctypes.data + (j0 * a.shape[1] * 8 if b else 0)
                views = [buf[:, :c] for buf in bufs]
                self._block_run(args, batched, weights, views, j0, c, ptrs, strides)
                self._add_items(totals, views, args, batched, j0, c)
                if per_sample is not None:
                    for k, (outs, rows) in enumerate(self._roots):
                        per_sample[outs, j0 : j0 + c] = views[self._n_steps + k][rows]
            if per_sample is not None:
                out = per_sample.reshape((self._m, *batch))
                return out if raw else self._finish(out)
            out = flat if self._in_order else flat[self._pick]
            if self._reduce == "mean":
                out = out / n
        return out if raw else self._finish(out)

    def _block_run(self, args, batched, weights, views, j0, c, ptrs, strides) -> None:
        for k in range(self._n_phases):
            fn = self._kernels[k]
            if fn is not None:
                fn(c, ptrs, strides)
            for s in self._after[k]:
                st = self._steps[s]
                if st.lanewise:
                    st.fn(c, ptrs, strides)
                else:
                    self._product(s, args, batched, weights[s], views, j0, c)

    def _vectors(self, spec: dict, k: int, args, batched, views, j0: int, c: int):
        """A (k, c) operand (or (k,) when the same for every sample)."""
        if "phase" in spec:
            return views[self._n_steps + spec["phase"]][spec["row"] : spec["row"] + k]
        if "lanes" in spec:
            z = views[spec["lanes"]]
            return z if spec["perm"] is None else z[spec["perm"]]
        a, st = args[spec["param"]], spec["step"]
        sl = slice(spec["start"], spec["start"] + st * (k - 1) + 1, st)
        return a[j0 : j0 + c, sl].T if batched[spec["param"]] else a[sl]

    def _product(self, s: int, args, batched, w, views, j0: int, c: int) -> None:
        st = self._steps[s]
        z = views[s]
        v = self._vectors(st.vectors, st.k, args, batched, views, j0, c)
        if w is None:  # weights with batch axes: one matrix-vector product per sample
            vv = np.broadcast_to(v.reshape(st.k, -1) if v.size else v, (st.k, c))
            for j in range(c):
                wj = st.weights(args[st.param][j0 + j])
                z[:, j] = wj[:, : st.k] @ vv[:, j] + (wj[:, st.k] if st.bias else 0.0)
            return
        if v.ndim == 1:
            z[:] = (w[:, : st.k] @ v)[:, None]
        else:
            np.matmul(w[:, : st.k], v, out=z)
        if st.bias:
            z += w[:, st.k][:, None]

    def _totals(self, n: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """The flat result and each reduced item's total as a view of it. The first block
        writes every total (zeros only when no block runs)."""
        flat = np.empty(self._flat_size) if n else np.zeros(self._flat_size)
        totals, at = [], 0
        for shape in self._shapes:
            size = math.prod(shape)
            totals.append(flat[at : at + size].reshape(shape))
            at += size
        return flat, totals

    def _add_items(self, totals, views, args, batched, j0: int, c: int) -> None:
        """Each item's sum over this block, written into its total (the first block) or added.
        Written, a layer's weight gradient is one matrix product into place, not a product
        then a pass adding it (0.4 ms of an MNIST-size call at batch 1,000); over one sample,
        an outer product by broadcasting (BLAS takes 2x as long with one column)."""
        ph, first = self._n_steps, j0 == 0
        for i, it in enumerate(self._items):
            if "total" in it:
                p, r = it["total"]
                v = views[ph + p][r].sum()
            elif "dot" in it:
                (pa, ra), (pb, rb) = it["dot"]
                v = np.dot(views[ph + pa][ra], views[ph + pb][rb])
            else:
                self._add_outer(totals[i], it, args, batched, views, j0, c)
                continue
            if first:
                totals[i][...] = v
            else:
                totals[i] += v

    def _add_outer(self, z, it, args, batched, views, j0: int, c: int) -> None:
        rs, cs = it["outer"]
        rows = self._operand(rs, args, batched, views, j0, c)
        cols = self._operand(cs, args, batched, views, j0, c)
        nc = cs["n"]
        if j0:  # a later block: added to what the first wrote
            z[:, :nc] += rows @ cols.T
            if it["ones"]:
                z[:, nc] += rows.sum(axis=1)
            return
        (np.multiply if c == 1 else np.matmul)(rows, cols.T, out=z[:, :nc])
        if it["ones"]:
            np.sum(rows, axis=1, out=z[:, nc])

    def _operand(self, spec, args, batched, views, j0: int, c: int):
        v = self._vectors(spec, spec["n"], args, batched, views, j0, c)
        return v if v.ndim == 2 else np.broadcast_to(v[:, None], (spec["n"], c))

    def _finish(self, out):
        if self._has_arrays:
            return self._pack(None, out)
        return self._pack(out.tolist() if out.ndim == 1 else list(out), out)

    def flat(self, *arrays):
        return self.__call__(*arrays, raw=True)

    def listing(self, limit: int | None = 200) -> str:
        return self.source_text


def _kernel(lib, name: str):
    fn = getattr(lib, name)
    fn.argtypes = [ctypes.c_longlong, ctypes.c_void_p, ctypes.c_void_p]
    fn.restype = ctypes.c_int
    return fn


def _shape(it: dict) -> tuple[int, ...]:
    if "outer" in it:
        rs, cs = it["outer"]
        return (rs["n"], cs["n"] + bool(it["ones"]))
    return ()
