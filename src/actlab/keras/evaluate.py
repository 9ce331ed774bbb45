"""A catalog activation evaluated on a Keras tensor: the dtype rule, the split of gated activations, training-mode
noise, and the gradient. The same rules as the torch path (:mod:`actlab.backends.torch_function`), written with
``keras.ops``.

The gradient is the spec's own hand-derived derivative, through ``keras.ops.custom_gradient``, as the torch path's
autograd Function does: autodiff of the forward would also differentiate the branch of each ``where()`` that is not
taken, which overflows in the far tails (elu's e^x at x = 100 in float32) and turns the gradient into inf·0 = NaN.
Learned parameters (tensors in ``params``) get theirs from ``spec.param_derivatives``, summed over the dimensions
they were broadcast along. Two cases keep the backend's autodiff of the forward: a stochastic activation in training
(its sampled formula, the noise a constant of the call), and tensor parameters the spec has no derivative for (or a
gated activation's, whose chunks the catalog's parameter derivatives do not describe). The numpy and openvino
backends have no gradients; symbolic ``KerasTensor`` inputs only need the forward's shapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
from keras import ops

from actlab.catalog.spec import ActivationError, ActivationSpec
from actlab.keras.namespace import KERAS

# Computed in float32 and rounded back, as PyTorch's own CPU kernels (and actlab's torch path) do.
_LOW_PRECISION = ("float16", "bfloat16", "float8")
# Backends whose ops.custom_gradient is a real one; on the others (numpy, openvino) it only warns and runs forward.
_DIFFERENTIABLE_BACKENDS = ("jax", "tensorflow", "torch")


def compute_dtype(dtype: str) -> str:
    """The dtype an input of ``dtype`` is computed in; an error for anything but real floating point."""
    if not dtype.startswith(("float", "bfloat")):
        raise ActivationError(f"activations take real floating-point tensors, got {dtype}")
    return "float32" if dtype.startswith(_LOW_PRECISION) else dtype


def output_shape(spec: ActivationSpec, params: Mapping[str, Any], shape: tuple) -> tuple:
    """The shape of ``f(x)`` for an input of ``shape``: the same, or for gated activations ``dim`` divided into
    its pieces (checked to divide evenly)."""
    if not spec.gated:
        return tuple(shape)
    pieces, dim = spec.n_pieces(params), params["dim"]
    if len(shape) == 0 or not -len(shape) <= dim < len(shape):
        raise ActivationError(f"{spec.name} splits dimension {dim}, but its input has shape {tuple(shape)}")
    size = shape[dim]
    if size is not None and size % pieces:
        raise ActivationError(f"{spec.name} splits dimension {dim} into {pieces} equal chunks, but it has size {size}")
    out = list(shape)
    out[dim] = None if size is None else size // pieces
    return tuple(out)


def _dtype(tensor: Any) -> str:
    return keras.backend.standardize_dtype(tensor.dtype)


def forward(
    spec: ActivationSpec,
    params: Mapping[str, Any],
    x: Any,
    training: bool = False,
    seed: Any = None,
    spec_gradient: bool = True,
) -> Any:
    """``f(x)`` on a Keras (or backend, or NumPy) tensor, by the spec's own formulas, with the spec's derivatives as
    its gradient (see the module docstring).

    ``params`` may hold tensors (learned parameters: shape () or broadcastable against ``x``, channel-wise ones on
    the last axis; a vector parameter as a 1-D tensor or a tuple of scalars). With ``training`` a stochastic
    activation draws its noise with ``seed`` (a ``keras.random.SeedGenerator``); otherwise it is deterministic (the
    spec's evaluation-mode formula). ``spec_gradient=False`` leaves the gradient to the backend's autodiff of the
    formula (tests compare the two).
    """
    if not KERAS.is_array(x):
        x = ops.convert_to_tensor(x)
    dtype = _dtype(x)
    wide = compute_dtype(dtype)
    if spec.gated:
        output_shape(spec, params, tuple(x.shape))
    evaluation = _Evaluation(spec, params, dtype, wide)
    tensors = [x, *evaluation.tensors]
    if training and spec.stochastic is not None:  # autodiff of the sampled formula: the noise is a constant
        xc, values = evaluation.values(tensors)
        noise = spec.stochastic.sample(xc, KERAS, seed, **values)
        y = KERAS.broadcast(spec.stochastic.forward(xc, noise, KERAS, **values), xc)
        return y if wide == dtype else ops.cast(y, dtype)
    if not (spec_gradient and evaluation.differentiable and _tracks_gradients(tensors)):
        return evaluation.value(tensors)  # differentiable by the backend's autodiff, where it has one
    return ops.custom_gradient(evaluation.value_and_gradient)(*tensors)


def _tracks_gradients(tensors: Sequence[Any]) -> bool:
    """Whether a gradient of this call can be asked for: not on backends without gradients, not for symbolic
    inputs, and on torch only where grad mode is on and some input requires one (an autograd Function costs a
    little, and torch.export prefers plain ops)."""
    backend = keras.backend.backend()
    if backend not in _DIFFERENTIABLE_BACKENDS or any(isinstance(t, keras.KerasTensor) for t in tensors):
        return False
    if backend == "torch":
        import torch

        return torch.is_grad_enabled() and any(getattr(t, "requires_grad", False) for t in tensors)
    return True


class _Evaluation:
    """One call's activation: the fixed parameters, the tensor ones (passed to the custom-gradient function as
    inputs, as ``jax.custom_vjp`` needs: none may be closed over), and the forward and its gradient in the compute
    dtype."""

    def __init__(self, spec: ActivationSpec, params: Mapping[str, Any], dtype: str, wide: str) -> None:
        self.spec, self.dtype, self.wide = spec, dtype, wide
        self.static = {name: value for name, value in params.items() if not _holds_tensor(value)}
        self.names = tuple(name for name in params if name not in self.static)
        # A tuple holding tensors (a vector parameter's components) is one input: stacked, unstacked in values.
        self.tensors = [_stack(params[name], wide) for name in self.names]
        self.differentiable = not (spec.gated and self.names) and all(
            name in spec.param_derivatives for name in self.names
        )

    def values(self, tensors: Sequence[Any]) -> tuple[Any, dict[str, Any]]:
        """The input and the parameters in the compute dtype (vector parameters as tuples of scalars)."""
        x, *learned = tensors
        xc = x if self.wide == self.dtype else ops.cast(x, self.wide)
        values = dict(self.static)
        for name, tensor in zip(self.names, learned, strict=True):
            tensor = tensor if _dtype(tensor) == self.wide else ops.cast(tensor, self.wide)
            if self.spec.param(name).kind == "vector":
                tensor = tuple(tensor[i] for i in range(tensor.shape[0]))
            values[name] = tensor
        return xc, values

    def _chunks(self, xc: Any, values: Mapping[str, Any]) -> list[Any]:
        return list(ops.split(xc, self.spec.n_pieces(values), axis=values["dim"]))

    def value(self, tensors: Sequence[Any]) -> Any:
        xc, values = self.values(tensors)
        if self.spec.gated:
            chunks = self._chunks(xc, values)
            y = KERAS.broadcast(self.spec.forward(chunks, KERAS, **values), chunks[0])
        else:
            y = KERAS.broadcast(self.spec.forward(xc, KERAS, **values), xc)
        return y if self.wide == self.dtype else ops.cast(y, self.dtype)

    def value_and_gradient(self, *tensors: Any) -> tuple[Any, Any]:
        """``(f(x), gradient)`` as ``keras.ops.custom_gradient`` wants them, on every backend: torch calls
        ``gradient(*inputs, upstream=g)`` (its saved inputs, which keeps second derivatives connected to them), jax
        and tensorflow call ``gradient(g)``."""

        def gradient(*args: Any, upstream: Any = None) -> Any:
            if upstream is None:
                (upstream,) = args
                args = tensors
            grads = self.gradients(args, upstream)
            return grads[0] if len(grads) == 1 else tuple(grads)

        return self.value(tensors), gradient

    def gradients(self, tensors: Sequence[Any], upstream: Any) -> list[Any]:
        """The gradient of ``sum(upstream · f)`` with respect to each of ``tensors`` (x, then the tensor
        parameters), each in its tensor's dtype and shape: as torch_function.SpecEvaluator.backward."""
        xc, values = self.values(tensors)
        g = upstream if _dtype(upstream) == self.wide else ops.cast(upstream, self.wide)
        if self.spec.gated:
            chunks = self._chunks(xc, values)
            parts = self.spec.derivative(chunks, KERAS, **values)
            grad_x = ops.concatenate(
                [g * KERAS.broadcast(p, c) for p, c in zip(parts, chunks, strict=True)], axis=values["dim"]
            )
        else:
            grad_x = g * KERAS.broadcast(self.spec.derivative(xc, KERAS, **values), xc)
        grads = [ops.cast(grad_x, self.dtype)]
        for name, tensor in zip(self.names, tensors[1:], strict=True):
            partial = self.spec.param_derivatives[name](xc, KERAS, **values)
            if isinstance(partial, list):  # a vector parameter: one partial per component
                total = ops.stack([ops.sum(g * KERAS.broadcast(p, xc)) for p in partial])
            else:
                total = _sum_to(g * KERAS.broadcast(partial, xc), tuple(tensor.shape))
            grads.append(ops.cast(total, _dtype(tensor)))
        return grads


def _holds_tensor(value: Any) -> bool:
    if isinstance(value, tuple):
        return any(KERAS.is_array(v) for v in value)
    return KERAS.is_array(value)


def _stack(value: Any, dtype: str) -> Any:
    """A tensor parameter as one tensor, an input of the custom-gradient function: a tuple of scalars (some tensors)
    stacked into a vector; a variable read (TensorFlow's custom_gradient wants tensors as inputs, and would take a
    variable read inside for one it must return a gradient for separately)."""
    if isinstance(value, tuple):
        return ops.stack([ops.cast(v, dtype) if KERAS.is_array(v) else ops.convert_to_tensor(v, dtype) for v in value])
    return value if isinstance(value, keras.KerasTensor) else ops.convert_to_tensor(value)


def _sum_to(t: Any, shape: tuple) -> Any:
    """Sum ``t`` (the input's shape) down to a parameter's ``shape``, which broadcast against it: over the leading
    axes ``shape`` lacks and the axes where it has 1 (the inverse of broadcasting)."""
    lead = len(t.shape) - len(shape)
    axes = [*range(lead), *(lead + i for i, size in enumerate(shape) if size == 1)]
    if axes:
        t = ops.sum(t, axis=axes)
    return ops.reshape(t, shape)
