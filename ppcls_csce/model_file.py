"""Read a `.pdparams` as data: a restricted unpickler that accepts only what paddle.save writes.

A .pdparams is a pickle, and paddle.load (pickle.load) runs whatever callable a crafted file names in its
__reduce__. paddle.save writes a state dict as dicts (or OrderedDicts), lists, tuples, numbers, strings and
numpy arrays (a Tensor is pickled as the tuple (name, ndarray)). So the unpickler's find_class resolves only the
few globals those need (the tuple and OrderedDict types, numpy's array and scalar reconstruction, numpy.dtype,
and _codecs.encode for the latin-1 bytes of protocol 2) and refuses every other global by name before anything
of the file is called; an object-dtype array (whose items would be arbitrary objects) is refused too.
This is the change PyTorch made to torch.load (weights_only=True).
"""

import codecs
import collections
import pickle
from typing import Any, Callable, Dict, Tuple

import numpy as np

try:
    from numpy._core import multiarray as _multiarray  # numpy 2
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]

from .errors import CsceError

RULE = "model-file"
_BIG = "UnpackBigParamInfor@@"  # paddle.save's key for arrays over 1 GiB split into slices (protocols 2 and 3)


class _Refused(pickle.UnpicklingError):
    """Something paddle.save never writes, found before it could run."""


def _dtype(*args: Any) -> np.dtype:
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise _Refused("an array of Python objects (dtype object), which a state dict never holds")
    return dtype


def _latin1(text: str, encoding: str = "utf-8") -> bytes:
    if encoding != "latin1":
        raise _Refused(f"_codecs.encode with encoding {encoding!r} (paddle.save uses latin1)")
    return codecs.encode(text, "latin1")


def _allowed() -> Dict[Tuple[str, str], Callable[..., Any]]:
    table: Dict[Tuple[str, str], Callable[..., Any]] = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("_codecs", "encode"): _latin1,
    }
    for module in ("builtins", "__builtin__"):  # protocol 2 spells builtins the Python 2 way
        table.update({(module, "tuple"): tuple, (module, "list"): list, (module, "dict"): dict})
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):  # numpy 1.x and 2 spell it so
        table[(module, "_reconstruct")] = _multiarray._reconstruct
        table[(module, "scalar")] = _multiarray.scalar
    table[("numpy", "ndarray")] = np.ndarray
    table[("numpy", "dtype")] = _dtype
    return table


class _Unpickler(pickle.Unpickler):
    """find_class answers from the table only; persistent ids are refused by pickle.Unpickler itself."""

    def __init__(self, handle: Any) -> None:
        super().__init__(handle)
        self._table = _allowed()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._table[(module, name)]
        except KeyError:
            raise _Refused(f"it names {module}.{name}, which paddle.save never writes") from None


def _refuse(path: str, message: str) -> CsceError:
    return CsceError(message, path=path, rule=RULE)


def load_object(path: str) -> Any:
    """The whole object in the file, read without running any of it (Tensors come back as (name, ndarray))."""
    try:
        with open(path, "rb") as handle:
            return _Unpickler(handle).load()
    except FileNotFoundError:
        raise _refuse(path, "no such file") from None
    except IsADirectoryError:
        raise _refuse(path, "is a directory, not a .pdparams file") from None
    except _Refused as error:
        raise _refuse(path, f"refused: not a model file as paddle.save writes it: {error}; nothing in it was run "
                            "(only numpy arrays, dicts, lists, numbers and strings are read)") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            OverflowError, MemoryError, UnicodeDecodeError) as error:
        first = (str(error).splitlines() or [""])[0]
        raise _refuse(path, f"cannot be read as a .pdparams ({type(error).__name__}: {first})") from None
    except OSError as error:
        raise _refuse(path, f"cannot be read: {error.strerror or error}") from None


def _as_array(value: Any) -> Any:
    """An ndarray for a saved Tensor ((name, ndarray)), an array or a number; None for anything else."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], np.ndarray):
        return value[1]
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (bool, int, float, np.generic)):
        return np.asarray(value)
    return None


def load_state(path: str) -> Dict[str, np.ndarray]:
    """The state dict in a .pdparams as name -> numpy array, in the file's order (non-array entries such as a
    nested dict are left out); one located line (CsceError) for a file that is not a paddle.save'd dict."""
    obj = load_object(path)
    if not isinstance(obj, dict):
        raise _refuse(path, f"not a state dict (the file holds a {type(obj).__name__})")
    if _BIG in obj:
        obj = _join_slices(path, obj)
    state: Dict[str, np.ndarray] = {}
    for name, value in obj.items():
        array = _as_array(value)
        if isinstance(name, str) and array is not None:
            state[name] = array
    return state


def _join_slices(path: str, obj: Dict[Any, Any]) -> Dict[Any, Any]:
    """Put the slices of each big array back together, as paddle.load does."""
    info = obj[_BIG]
    joined = {key: value for key, value in obj.items() if key != _BIG}
    try:
        for key, entry in info.items():
            parts = [joined.pop(part) for part in entry["slices"]]
            joined[key] = np.concatenate([_as_array(part).ravel() for part in parts]).reshape(entry["OriginShape"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise _refuse(path, f"its {_BIG} entry does not match its slices ({type(error).__name__}: {error})") from None
    return joined
