"""The identity of a model given to ``actlab.compare`` (an instance or a build function): a hash of what it trains
(:func:`fingerprint`), the ``#…`` of its ``python:Name#…`` reference (:mod:`actlab.models.user_models`)."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
from typing import Any

import torch
from torch import nn

from actlab.activation import activation as activation_by_name
from actlab.models import user_models
from actlab.models.user_build import ActivationFactory


def fingerprint(builder: user_models.Builder) -> str:
    """What a model given to ``actlab.compare`` trains, as a hash (the reference's ``#…``): equal for the same model
    in every process, different when anything it trains changes.

    ``builder`` — a build function, or a template's (:func:`from_template`) — is called as a run calls it, with one
    fixed activation under a fixed seed, and the model hashed: its structure, the source of its own classes and every
    parameter and buffer (so a width from a global variable, an initialisation, a parameter that ``reset_parameters``
    does not reach all count; a template's random initial weights, which every run draws again, do not). The
    builder's own source, defaults, closure and the plain values it reads from its globals count too. Where the
    model does not build, only the code is hashed: running it reports why."""
    digest = hashlib.sha256()
    _hash_code(digest, builder)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = builder(ActivationFactory(activation_by_name("relu")))
    except Exception:
        model = None
    if isinstance(model, nn.Module):
        _hash_model(digest, model)
    return digest.hexdigest()[:16]


_PLAIN = (int, float, complex, str, bytes, bool, type(None))


def _plain(value: Any) -> bool:
    return isinstance(value, _PLAIN) or (isinstance(value, tuple | list) and all(_plain(v) for v in value))


def _hash_code(digest: Any, function: Any) -> None:
    """A function's (or callable's) source — else its bytecode —, defaults, closure and the plain global values its
    code names."""
    plain_callable = not (inspect.isfunction(function) or inspect.ismethod(function) or inspect.isclass(function))
    target = type(function) if plain_callable else function
    digest.update(getattr(target, "__qualname__", type(target).__name__).encode())
    try:
        digest.update(inspect.getsource(target).encode())
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        if code is not None:
            digest.update(code.co_code + repr(code.co_consts).encode())
    if inspect.isclass(target):
        functions = [v for v in vars(target).values() if inspect.isfunction(v)]
    else:
        functions = [getattr(target, "__func__", target)]
    for fn in functions:
        digest.update(repr([d for d in (fn.__defaults__ or ()) if _plain(d)]).encode())
        digest.update(repr([c for c in _cells(fn) if _plain(c)]).encode())
        names = sorted(n for n in fn.__code__.co_names if n in fn.__globals__ and _plain(fn.__globals__[n]))
        digest.update(repr([(n, fn.__globals__[n]) for n in names]).encode())


def _cells(function: Any) -> list[Any]:
    """The values of a function's closure (an empty cell, a name not yet bound, is left out)."""
    values = []
    for cell in function.__closure__ or ():
        with contextlib.suppress(ValueError):
            values.append(cell.cell_contents)
    return values


def _hash_model(digest: Any, model: nn.Module) -> None:
    """A built model: its printed structure, the code of its classes that are not torch's or actlab's, and every
    parameter and buffer."""
    digest.update(repr(model).encode())
    seen: set[type] = set()
    for module in model.modules():
        kind = type(module)
        if kind in seen or kind.__module__.split(".")[0] in ("torch", "actlab"):
            continue
        seen.add(kind)
        _hash_code(digest, kind)
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
