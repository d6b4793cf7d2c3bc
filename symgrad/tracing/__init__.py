"""The tracing front end: unmodified NumPy functions become symgrad programs.

- ``array.py``: ``Traced``, the stand-in array speaking NumPy's protocols;
  ``ufuncs.py`` (ufunc names -> ops, from the op table), ``dispatch.py`` (ufunc calls),
  ``functions.py`` (``np.sum``, ``np.where`` ...), ``ordering.py`` (``np.sort`` ... guarded),
  ``linalg.py`` (``np.linalg.norm``), ``numeric.py`` (``np.pad``, ``np.convolve``, ``np.nansum``
  ...),
  ``kernels.py`` (loops over object arrays);
- ``context.py``: the trace context (concrete values, guards);
- ``args.py``: arguments flattened and given stand-ins; ``results.py``: answers split/rebuilt;
- ``builders.py``: what each transform computes; ``function.py`` + ``paths.py``: tracing,
  caching paths, guards; ``symbolic.py``: transforms called inside a trace (nesting).
"""

from . import dispatch, functions, gather, linalg, numeric, ordering  # noqa: F401  (register the NumPy handlers)
from .array import Traced
from .function import RetraceWarning, TracedFunction

__all__ = ["Traced", "TracedFunction", "RetraceWarning"]
