"""Loading and calling generated C.

``NativeFunction`` builds a generated translation unit into the cache (``cache``), or hands a
tape to the cached interpreter (``tape``), and calls ``sg_f`` through the call entry
(``call``) or ctypes; it shapes the outputs as the NumPy backend does (``pack``).

A small straight-line function is built in tiers: plain first (what ``sg.compile`` waits
for; it serves every call of fewer than ``abi.SIMD_MIN_SAMPLES`` samples), and vectorized
across samples on its first call with that many (which waits for it; it serves every such call
from then on). The vectorized build is made for the arguments that call batches
(``-DSG_BATCHED=<mask>``): strides are then constants (each argument's size, or 0 where it is
broadcast), so the loads vectorize instead of gathering element by element; a large call that
batches other arguments gets a build of its own. A function only ever called on one point
never pays for the vectorizer; which build serves a call depends on its batch size and which
arguments it batches, never on timing. Every other form is built once.
"""

from __future__ import annotations

import ast
import ctypes
import math
import threading
import weakref
from collections.abc import Callable
from ctypes import addressof, c_char

from . import cache, tape
from . import call as entry
from .abi import FUNC, MIXED_OPT, SIMD_MIN_SAMPLES, check_arrays, ctypes_argtypes, read_meta
from .cache import release as _release
from .pack import _packer


class NativeFunction:
    """A loaded ``sg_f``: takes float64 arrays (validated by the caller), returns outputs with
    the NumPy backend's shapes (each output has the broadcast batch shape, or is reduced)."""

    def __init__(self, source: str) -> None:
        import numpy as np

        self._np = np
        meta = read_meta(source)
        self.source_text = source
        nargs = len(meta["args"])
        self.on_vm = "vm" in meta
        # Batches of _simd_min samples or more run _simd_fns[mask], the vectorized build for
        # the arguments they batch (bit i: argument i), made on the first such call (0: _fn
        # serves every call); the call entry's plans name the first mask's build.
        self._simd_min, self._simd_fns, self._plan_mask = 0, {}, -1
        self._boxes: list[tuple[list, list, bool]] = []  # call-entry plans, rebuilt on a swap
        if self.on_vm:  # the cached interpreter runs this source's tape (tape.py)
            self._fn = tape.make_runner(source, meta)
        else:
            tiered = _tiered(source, meta)
            self.library_path = cache.build(source, meta["lines"], simd=False if tiered else None)
            if nargs <= entry.MAX_ARGS and meta["m"]:
                entry.start()  # after this build, not beside it: 2 cores are often both busy
            self._libs: list = []
            self._fn = self._load(self.library_path, nargs)
            if tiered:
                self._simd_min, self._simd_lock = SIMD_MIN_SAMPLES, threading.Lock()
        self._args = [(k, nd) for k, nd in meta["args"]]
        self._m = meta["m"]
        self._reduce = meta["reduce"]
        self._structure = ast.literal_eval(meta["structure"])
        self._pack = _packer(self._structure)
        self._has_arrays = "{" in meta["structure"]
        self._plans: dict[tuple, tuple] = {}  # argument shapes -> (n, strides, output shape)
        # The call entry (call.py): sg_f called from a small CPython extension, no ctypes.
        # While it is still being compiled (a cold cache), calls go through ctypes and the
        # first call after it is loaded takes it up (_attach), so no call waits for it.
        self._ext = None
        self._lines = meta["lines"]
        self._pending = not self.on_vm and nargs <= entry.MAX_ARGS and bool(self._m)
        self._attach()

    def _load(self, path: str, nargs: int):
        """``sg_f`` of the library at ``path``, loaded, typed, and unmapped when this function
        is freed (dlopen counts references: another function loaded from it keeps it)."""
        lib = ctypes.CDLL(path)
        self._libs.append(lib)
        weakref.finalize(self, _release, lib._handle)
        fn = getattr(lib, FUNC)
        fn.argtypes = ctypes_argtypes(nargs)
        fn.restype = ctypes.c_int
        return fn

    def _vectorized(self, mask: int):
        """The function that serves a large batch whose batched arguments are ``mask``: the
        vectorized build for them, made now if it is not yet (once; a concurrent caller waits
        for it); where it cannot be made, the plain build, which then serves every call."""
        with self._simd_lock:
            if mask not in self._simd_fns and self._simd_min:
                try:
                    path = cache.build(
                        self.source_text, self._lines, simd=True, defines=[f"-DSG_BATCHED={mask}"]
                    )
                except Exception:  # a compiler error, a cache problem: the plain build serves
                    path = None
                if path is None:
                    self._simd_min = 0
                else:
                    self._simd_fns[mask] = self._load(path, len(self._args))
                    if self._plan_mask < 0:
                        self._plan_mask = mask
                self._refresh_plans()
        return self._simd_fns[mask] if self._simd_min else self._fn

    def _refresh_plans(self) -> None:
        """The call entry's plans again, naming the builds as they are now."""
        if self._ext is None:
            return
        shapes = [(-1,) * nd for _, nd in self._args]
        self._raw_plan = self._ext_plan(shapes, floats=False)
        for box, box_shapes, floats in self._boxes:
            box[0] = self._ext_plan(box_shapes, floats)

    def _attach(self) -> bool:
        """Take up the call entry once it is loaded (or known to be unavailable); whether
        this function no longer waits for it."""
        if not self._pending or not entry.ready():
            return not self._pending
        self._ext = entry.module()
        if self._ext is not None:
            shapes = [(-1,) * nd for _, nd in self._args]  # sizes checked, extents not
            self._raw_plan = self._ext_plan(shapes, floats=False)
        self._pending = False
        return True

    def _ext_plan(self, shapes: list[tuple], floats: bool) -> bytes:
        def address(fn) -> int:
            return ctypes.cast(fn, ctypes.c_void_p).value if fn is not None else 0

        args = [(k, shape) for (k, _), shape in zip(self._args, shapes)]
        vector = (address(self._simd_fns.get(self._plan_mask)), self._simd_min, self._plan_mask)
        reduce = bool(self._reduce)
        return entry.plan(address(self._fn), args, self._m, reduce, floats, self._lines, vector)

    def caller(self, shapes: list[tuple]) -> Callable[[tuple], object] | None:
        """``call(args)``: the outputs of ``args`` (Python floats for scalar arguments, or
        float64 arrays with the trailing ``shapes``) through the call entry, or None when they
        need the general path (conversion, partial broadcasting, errors); None where there is
        no call entry."""
        if self._ext is None:
            return self._late_caller(shapes) if self._pending else None
        call, pack = self._ext.call, self._pack
        # The plan in a box: a vectorized build made later replaces it (_refresh_plans).
        box = [self._ext_plan(shapes, floats=not self._has_arrays)]
        self._boxes.append((box, shapes, not self._has_arrays))
        if self._has_arrays:

            def fast(args: tuple, box=box, call=call, pack=pack, _keep=self):
                out = call(box[0], args)
                return None if out is None else pack(None, out)

            return fast

        def fast_floats(args: tuple, box=box, call=call, pack=pack, _keep=self):
            out = call(box[0], args)  # a list of floats unless there are batch axes
            if out is None or type(out) is list:
                return out if out is None else pack(out, None)
            return pack(list(out), out)

        return fast_floats

    def _late_caller(self, shapes: list[tuple]) -> Callable[[tuple], object]:
        """``caller`` for a function made while the call entry was being compiled: None (the
        general path) until it is loaded, then the call entry's fast path."""
        got: list = []

        def late(args: tuple):
            if not got:
                if not self._attach():
                    return None
                got.append(self.caller(shapes))
            return None if got[0] is None else got[0](args)

        return late

    def __call__(self, *arrays, raw: bool = False):
        """The outputs for float64 arrays ``arrays`` (one per argument, trailing sizes as
        compiled); anything else is a TypeError or ValueError, never a read out of bounds."""
        if self._pending:
            self._attach()
        if self._ext is not None:  # checks count, dtype and sizes in C; None: not its case
            out = self._ext.call(self._raw_plan, arrays)
            if out is not None:
                return out if raw else self._finish(out)
        self._check(arrays)
        plan = self._plans.get(tuple([a.shape for a in arrays]))
        if plan is not None:  # shapes seen before and needing no copies: the fast path
            n, strides, out_shape = plan
            call = [n]
            try:  # writable C-contiguous buffers: their addresses, cheaply
                for a, s in zip(arrays, strides):
                    call.append(addressof(c_char.from_buffer(a)))
                    call.append(s)
            except (TypeError, ValueError, BufferError):  # read-only or strided
                return self._call_general(arrays, raw)
            return self._run(call, out_shape, raw)
        return self._call_general(arrays, raw)

    def _check(self, arrays: tuple) -> None:
        check_arrays(arrays, self._args)

    def _call_general(self, arrays, raw: bool):
        np = self._np
        batches = [
            a.shape[: a.ndim - nd] if nd else a.shape for a, (_, nd) in zip(arrays, self._args)
        ]
        batch = ()
        for b in batches:
            if b:
                if not batch:
                    batch = b
                elif b != batch:
                    batch = np.broadcast_shapes(*batches)
                    break
        n = math.prod(batch) if batch else 1
        call = [n]
        strides = []
        keep = []  # arrays made here must stay alive until the call returns
        for a, b, (k, nd) in zip(arrays, batches, self._args):
            if b == batch:
                stride = k if batch else 0
            elif math.prod(b) == 1:
                stride = 0
            else:  # a partial broadcast, such as (3, 1) against (1, 4): materialize it
                a = np.ascontiguousarray(np.broadcast_to(a, batch + a.shape[a.ndim - nd :]))
                keep.append(a)
                stride = -1
            a = np.ascontiguousarray(a)
            keep.append(a)
            strides.append(stride)
            call += [a.ctypes.data, k if stride < 0 else stride]
        out_shape = (self._m, *batch) if batch and not self._reduce else (self._m,)
        if -1 not in strides and n > 0 and self._m:
            if len(self._plans) > 64:
                self._plans.clear()
            self._plans[tuple([a.shape for a in arrays])] = (n, strides, out_shape)
        return self._run(call, out_shape, raw)

    def _run(self, call: list, out_shape: tuple, raw: bool):
        out = self._np.empty(out_shape)
        call.append(out.ctypes.data if out.size == 0 else addressof(c_char.from_buffer(out)))
        fn = self._fn
        if self._simd_min and call[0] >= self._simd_min:  # a large batch (see the module doc)
            mask = sum(1 << i for i, s in enumerate(call[2:-1:2]) if s)
            fn = self._simd_fns.get(mask) or self._vectorized(mask)
        rc = fn(*call)
        if rc == 1:
            raise MemoryError("the compiled C function could not allocate its workspace")
        if rc:  # a build for other strides: never silently, never reached by design
            raise RuntimeError(f"symgrad: the compiled C function returned {rc}")
        if raw:
            return out
        return self._finish(out)

    def _finish(self, out):
        # Outputs with batch axes are arrays of the batch shape (views of one buffer); reduced
        # or unbatched ones are Python floats, made by one tolist() (2.5x cheaper than NumPy
        # scalars, which is what a call with thousands of outputs costs).
        if self._has_arrays:  # array outputs are views of the buffer; no per-leaf objects
            return self._pack(None, out)
        return self._pack(out.tolist() if out.ndim == 1 else list(out), out)

    def listing(self, limit: int | None = 200) -> str:
        """The program as the interpreter runs it (``w7 = tanh(w3)`` per instruction); for a
        straight-line function, its source."""
        if not self.on_vm:
            return self.source_text
        return tape.listing(self._fn.program, limit)

    def flat(self, *arrays):
        """All outputs in one float64 array of shape (outputs, *batch), or (outputs,) when
        reduced or unbatched: the cheapest call, with no Python object per output."""
        return self.__call__(*arrays, raw=True)


def _tiered(source: str, meta: dict) -> bool:
    """Whether ``source`` is built in tiers: the small form (one loop over the samples, with
    the vectorization pragma and strides that can be constants), at most 62 arguments (the
    mask is one signed 64-bit word), and a compiler that can vectorize."""
    form = "\n#ifdef SG_BATCHED" in source and "\n#pragma omp simd" in source
    return form and len(meta["args"]) <= 62 and cache.simd_possible()


def prebuild(source: str) -> None:
    """Start the phased form's build in the background (``cache.start``) with the arguments
    ``load`` passes, so the compiler runs while the rest of ``sg.compile`` does (~0.1 s of
    the MNIST-size MLP's ~0.3 s of GCC); other forms are built by ``load`` alone."""
    meta = read_meta(source)
    if meta.get("mixed"):
        cache.start(source, meta["lines"], opt=MIXED_OPT)


def load(source: str) -> Callable:
    """Build (or fetch from the cache) and load generated C ``source``: a ``NativeFunction``,
    or for the phased form a ``mixed_run.MixedFunction``."""
    meta = read_meta(source)
    if meta.get("mixed"):
        from .mixed_run import MixedFunction  # needs NumPy, which the core does not

        structure = ast.literal_eval(meta["structure"])
        library = cache.build(source, meta["lines"], opt=MIXED_OPT)
        return MixedFunction(
            source, meta, _packer(structure), "{" in meta["structure"], library, _release
        )
    return NativeFunction(source)
