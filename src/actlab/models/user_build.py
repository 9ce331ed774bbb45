"""Building a user's model for a run: what ``build(act)`` receives (:class:`ActivationFactory`), ``build(act)`` for a
model given as an instance (:func:`from_template`), the model of one run (:func:`build_model`), the check that its
output fits the labels (:func:`check_output`), and all of that once before anything trains (:func:`preflight`).

The references and hashes of users' models (torch-free) are :mod:`actlab.models.user_models`; the hash of a model given
to ``actlab.compare`` is :mod:`actlab.models.fingerprint`."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, Protocol

import torch
from torch import nn

from actlab.activation import Activation
from actlab.data.prepared import PreparedData, prepare_for
from actlab.errors import ActlabError
from actlab.models import user_models
from actlab.models.spec import ModelError
from actlab.swap import swap


class ActivationFactory:
    """What ``build(act)`` receives: ``act()`` is a new module of the run's activation each time; ``act.activation``
    is the :class:`~actlab.activation.Activation` itself."""

    def __init__(self, activation: Activation, fused: bool = False) -> None:
        self.activation = activation
        self.fused = fused
        self.calls = 0

    def __call__(self, **options: Any) -> nn.Module:
        """A new activation module (``options`` go to :meth:`Activation.module`, e.g. ``num_parameters=64``)."""
        self.calls += 1
        return self.activation.module(fused=self.fused, **options)


def from_template(template: nn.Module, match: Any = None) -> user_models.Builder:
    """``build(act)`` for a model given as an instance: its activations (those ``match`` selects: see
    :func:`actlab.swap`) swapped for ``act.activation`` (a copy; the template is untouched) and every module that has
    ``reset_parameters`` re-initialised from the run's seed (parameters a module holds without one keep the
    template's values, the same in every run)."""

    def build(act: ActivationFactory) -> nn.Module:
        model, report = swap(template, act.activation, match=match)
        if not report.replaced and match is not None:
            raise ModelError(f"match={match!r} selects no activation of {type(template).__name__} to swap")
        if not report.replaced:
            raise ModelError(
                f"{type(template).__name__} has no activation that actlab recognises to swap (nn.ReLU, F.relu, … ); "
                "give match= its own activation class, or pass a build(act) function that puts act() where the "
                "activation goes"
            )
        if report.unreachable:  # training it would compare models that keep some of their own activations
            where = "; ".join(f"{u.site}: {u.old} ({u.reason})" for u in report.unreachable)
            raise ModelError(
                f"{type(template).__name__}: {len(report.unreachable)} activation site(s) cannot be swapped — {where}; "
                "pass a build(act) function that puts act() where each activation goes"
            )
        act.calls += len(report.replaced)
        for module in model.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
        return model

    return build


class UserRun(Protocol):
    """What building a user's model reads of a run (a :class:`~actlab.train.config.RunConfig`)."""

    model: str
    activation: str
    model_sha256: str | None
    seed: int
    dataset: str
    dtype: str

    @property
    def regression(self) -> bool: ...

    def activation_object(self) -> Activation: ...

    def activation_label(self) -> str: ...

    def is_user_model(self) -> bool: ...


def build_model(run: UserRun, fused: bool = False) -> nn.Module:
    """The run's model, built with the run's seed (``torch.manual_seed``); ``build`` must use ``act`` (else every
    activation would train the same model) and return an ``nn.Module``."""
    build, name = user_models.builder_for(run.model), user_models.display(run.model)
    if run.model_sha256 and user_models.digest(run.model) != run.model_sha256:
        raise ModelError(f"{name} has changed since this run was defined: run it as a new experiment")
    factory = ActivationFactory(run.activation_object(), fused)
    torch.manual_seed(run.seed)
    try:
        model = build(factory)
    except ActlabError:
        raise
    except Exception as error:
        raise ModelError(f"{name} fails to build: {type(error).__name__}: {error}") from None
    if not isinstance(model, nn.Module):
        raise ModelError(f"{name} returned {type(model).__name__}, not an nn.Module")
    if factory.calls == 0:
        raise ModelError(
            f"{name} never called act(): the model would be the same whatever the activation; build it "
            "with act() where the activation goes"
        )
    return model


def check_output(model: nn.Module, sample: torch.Tensor, data: PreparedData, run: UserRun) -> None:
    """One clear error if the model's output on ``sample`` cannot be scored against the labels."""
    name = user_models.display(run.model)
    try:
        with torch.no_grad():
            out = model(sample)
    except Exception as error:
        raise ModelError(
            f"{name} fails on an input batch of shape {tuple(sample.shape)}: {type(error).__name__}: {error}"
        ) from None
    if not isinstance(out, torch.Tensor):
        raise ModelError(f"{name} returns {type(out).__name__}; it should return a tensor")
    b = len(sample)
    if run.regression:
        want = (b, *data.y_train.shape[1:])
        if tuple(out.shape) != want and not (data.y_train.ndim == 1 and tuple(out.shape) == (b, 1)):
            raise ModelError(f"{name} outputs shape {tuple(out.shape)}; the targets need {want}")
    elif tuple(out.shape) != (b, data.classes):
        raise ModelError(
            f"{name} outputs shape {tuple(out.shape)}, but the labels go up to {data.classes - 1}: "
            f"{data.classes} classes need logits of shape ({b}, {data.classes}) (softmax is in the loss)"
        )
    _check_trainable(model, out, name, run)


def _check_trainable(model: nn.Module, out: torch.Tensor, name: str, run: UserRun) -> None:
    """A model that has nothing to train, or whose output is NaN or infinite before any update, is one clear error
    (not an autograd error, nor a run merely 'diverged')."""
    if not any(p.requires_grad for p in model.parameters()):
        raise ModelError(
            f"{name} has no trainable parameters (none, or every one with requires_grad=False): nothing to train"
        )
    if not bool(torch.isfinite(out).all()):
        raise ModelError(
            f"{name} with {run.activation_label()} outputs NaN or inf before any update (its initial weights, on "
            "the first examples): check its initialisation and forward"
        )


def preflight(runs: Iterable[UserRun], data_dir: str | os.PathLike | None = None) -> None:
    """Build each activation's model of the user-model runs once and score one batch: a model that does not build,
    ignores ``act`` or whose output does not fit the labels is one clear error before anything trains or is stored."""
    seen: set[tuple[str, str, str]] = set()
    for run in runs:
        if not run.is_user_model() or (run.model, run.activation, run.dataset) in seen:
            continue
        seen.add((run.model, run.activation, run.dataset))
        data = prepare_for(run, data_dir)
        if not run.regression:
            top = max(int(data.y_train.max(initial=0)), int(data.y_test.max(initial=0)))
            if top >= data.classes:
                raise ModelError(f"labels go up to {top}, but {run.dataset} has {data.classes} classes")
        dtype = torch.float64 if run.dtype == "float64" else torch.float32
        sample = torch.tensor(data.x_train[:2], dtype=dtype)
        check_output(build_model(run).to(dtype=dtype).eval(), sample, data, run)
