"""The NumPy backend's runtime helpers. Never imported: the printer copies each helper that a
generated module calls, as text, into that module (top-level blocks, two blank lines apart).
The helpers a helper calls are named in ``backends/numpy.py``'s ``_NEEDS``."""

import math

import numpy as np


def _sigmoid(x):
    # exp of a non-positive number only: no overflow for any finite x.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _out(value, batch):
    # An output with the full batch shape, as a fresh float64 array.
    value = np.asarray(value, dtype=np.float64)
    if value.shape == batch:
        return value
    return np.broadcast_to(value, batch).copy()


def _copy(value, batch):
    # An output that is an input or a constant: never hand back the caller's array.
    return np.broadcast_to(np.asarray(value, dtype=np.float64), batch).copy()


def _sum(value, batch):
    # The sum over the batch axes; a value without them counts once per sample.
    value = np.asarray(value, dtype=np.float64)
    if value.shape != batch:
        value = np.broadcast_to(value, batch)
    return value.sum()


def _sum_mul(a, b, batch):
    # The sum of a*b over the batch without the temporary product: one BLAS dot.
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != batch or b.shape != batch:
        return _sum(a * b, batch)
    if a.ndim == 1:
        return np.dot(a, b)
    return np.dot(a.ravel(), b.ravel())


def _array(values, shape, batch):
    # An array output: each element broadcast to the batch shape, in one new float64 array.
    out = np.empty(batch + (len(values),))
    for k, v in enumerate(values):
        out[..., k] = v
    return out.reshape(batch + shape)


def _gram(rows, cols, ones, batch):
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
    return np.array(sums, dtype=np.float64).reshape(n, k + ones)


def _stack(vs, ones, shape):
    # The arrays vs (shape shape) then, if ones, a row of ones: one new (len(vs) + ones, ...) array.
    v = np.empty((len(vs) + ones,) + shape)
    for i, a in enumerate(vs):
        v[i] = a
    if ones:
        v[-1] = 1.0
    return v


def _vectors(vs):
    # The vectors of a product stacked on a new first axis, in their broadcast shape.
    return _stack(vs, 0, np.broadcast_shapes(*(np.shape(a) for a in vs)))


def _cols(x, ndim, start, stop, step):
    # Flat elements start:stop:step of the parameter x (ndim trailing axes) on a first axis:
    # a view of the argument, no copy.
    flat = x.reshape(x.shape[: x.ndim - ndim] + (int(np.prod(x.shape[x.ndim - ndim :])),))
    flat = flat[..., start:stop:step]
    return np.moveaxis(flat, -1, 0)


def _ranges(runs, shape):
    # Integers from arithmetic runs (start, count, step), as one array of the given shape.
    parts = [s + d * np.arange(n) for s, n, d in runs]
    return np.concatenate([np.arange(0), *parts]).reshape(shape)


def _matmul(w, ndim, idx, v, ones, batch):
    # Row j is sum_k W[j, k] * v[k] (plus W[j, -1] if ones: a bias), W the elements idx of the
    # parameter w (ndim axes), v the vectors on a first axis: one matrix product for a layer's
    # pre-activations or adjoints when w has no batch axes, else term by term. The rows come
    # as one array with as many trailing axes as the batch, so it broadcasts with any value.
    k = len(v)
    if w.ndim == ndim:
        flat = w.reshape(-1)
        z = flat[idx[:, :k]] @ v.reshape(k, -1)  # a contiguous W: the fastest BLAS layout
        if ones:
            z += flat[idx[:, k:]]
        z = z.reshape(z.shape[:1] + v.shape[1:])
    else:
        w = w.reshape(w.shape[: w.ndim - ndim] + (int(np.prod(w.shape[w.ndim - ndim :])),))
        rows = []
        for row in idx.tolist():
            s = sum(w[..., i] * a for i, a in zip(row, v))
            rows.append(s + w[..., row[k]] if ones else s)
        z = np.stack(np.broadcast_arrays(*rows))
    return z.reshape(z.shape[:1] + (1,) * (len(batch) + 1 - z.ndim) + z.shape[1:])


def _outer(rows, cols, ones, batch):
    # _gram with the rows and the columns each given as one array (first axis: the rows, the
    # columns): a layer's weight gradients from arrays as they are, without stacking them.
    # Written into place, the bias column beside it; over one sample an outer product by
    # broadcasting (BLAS takes twice as long with one column).
    n, k = len(rows), len(cols)
    if rows.shape[1:] == batch and cols.shape[1:] == batch:
        size = math.prod(batch)
        r, c = rows.reshape(n, size), cols.reshape(k, size)
        out = np.empty((n, k + ones))
        (np.multiply if size == 1 else np.matmul)(r, c.T, out=out[:, :k])
        if ones:
            np.sum(r, axis=1, out=out[:, k])
        return out
    return _gram(list(rows), list(cols), ones, batch)


def _chunk_rows(batch):
    # A long batch runs in blocks of about 2048 samples: temporaries stay small and in cache
    # (large ones cost page faults on every operation); the block sums are then added.
    if not batch or batch[0] <= 1:
        return 0
    rows = max(1, 2048 // max(math.prod(batch[1:]), 1))
    return rows if rows < batch[0] else 0


def _take(p, start, rows, ndim, batch):
    # Rows start:start+rows of the first batch axis when p carries that axis, else p whole.
    if p.ndim - ndim == len(batch) and p.shape[0] == batch[0]:
        return p[start : start + rows]
    return p
