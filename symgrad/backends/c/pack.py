"""Output packing: the flat output buffer back into the structure the outputs were given in
(the NumPy backend's shapes). Shared by loaded functions and, as source, the saved loader."""

from __future__ import annotations

from collections.abc import Callable

from ...ir import unflatten


def _array_out(o, k: int, n: int, shape: tuple):
    """Array output: rows k..k+n of the output buffer as one array, batch axes first (the
    NumPy backend's layout); a view of this call's fresh buffer."""
    part = o[k : k + n]
    if part.ndim == 1:
        return part if len(shape) == 1 else part.reshape(shape)
    batch = part.shape[1:]
    moved = part.reshape(tuple(shape) + batch)
    return moved.transpose(*range(len(shape), moved.ndim), *range(len(shape)))


def _scalar_out(o, k: int):
    return o[k] if o.ndim > 1 else o.item(k)


def _packer(structure) -> Callable[[list], object]:
    """A function rebuilding ``structure`` from a flat list of leaves, runs of leaves taken as
    list slices. ``structure`` holds only lists, tuples and None (``literal_eval``-checked), so
    the text evaluated here is symgrad's own: brackets, commas and indices."""
    text = _pack_text(structure)
    if text is None:  # too deep for one expression: rebuild iteratively
        return lambda v, o: unflatten(structure, v)
    scope = {"_a": _array_out, "_s": _scalar_out}
    return eval(compile(text, "<symgrad-c-pack>", "eval"), scope)  # generated code only


def _pack_text(structure) -> str | None:
    """``lambda v, o: ...``: the expression behind ``_packer`` (``v`` the outputs as a list,
    ``o`` the output buffer; ``_a``/``_s`` are ``_array_out``/``_scalar_out``); None when the
    structure nests too deep for one expression and holds no arrays."""
    has_arrays = "{" in repr(structure)
    if isinstance(structure, dict):
        shape = tuple(structure["shape"])
        return f"lambda v, o: _a(o, 0, {'len(o)' if shape else 1}, {shape!r})"
    if not isinstance(structure, list | tuple):
        return "lambda v, o: v[0]"
    parts: list[str] = []
    k = 0
    depth = 0
    stack: list = [structure]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, dict):
            shape = tuple(item["shape"])
            size = 1
            for d in shape:
                size *= d
            parts.append(f"_a(o, {k}, {size}, {shape!r})")
            k += size
        elif isinstance(item, list | tuple):
            if all(x is None for x in item) and not has_arrays:
                t = f"v[{k}:{k + len(item)}]"
                parts.append(t if isinstance(item, list) else f"tuple({t})")
                k += len(item)
                continue
            depth += 1
            close = "]" if isinstance(item, list) else ("," * (len(item) == 1) + ")")
            stack.append(close)
            for j in range(len(item) - 1, -1, -1):
                stack.append(item[j])
                if j:
                    stack.append(", ")
            parts.append("[" if isinstance(item, list) else "(")
        else:
            parts.append(f"_s(o, {k})" if has_arrays else f"v[{k}]")
            k += 1
    if depth > 50 and not has_arrays:
        return None
    if depth > 50:
        raise ValueError("outputs nest arrays more than 50 levels deep; flatten the structure")
    return "lambda v, o: " + "".join(parts)
