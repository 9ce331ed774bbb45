"""Models holding actlab activation modules save, load, copy, trace, export and compile like torch.nn's —
for every catalog activation, built-in and user-defined."""

import copy
import io
import pickle

import pytest
import torch
from torch import nn

import actlab
from actlab.catalog import REGISTRY

IN, HIDDEN = 4, 8


def model_with(name: str) -> nn.Sequential:
    act = actlab.activation(name)
    wide = HIDDEN * act.spec.n_pieces(act.params) if act.spec.gated else HIDDEN
    torch.manual_seed(0)
    layer = act.module(num_parameters=HIDDEN) if act.learned_params and not act.spec.gated else act.module()
    return nn.Sequential(nn.Linear(IN, wide), layer, nn.Linear(HIDDEN, 2)).eval()


def inputs() -> torch.Tensor:
    return torch.linspace(-3, 3, 3 * IN).reshape(3, IN)


@pytest.fixture()
def registry():
    state = REGISTRY.snapshot()
    yield REGISTRY
    REGISTRY.restore(state)


def round_trip(model: nn.Module) -> nn.Module:
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


@pytest.mark.parametrize("name", actlab.names())
def test_save_load_pickle_deepcopy(name):
    model, x = model_with(name), inputs()
    want = model(x)
    for copied in (round_trip(model), pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        torch.testing.assert_close(copied(x), want, rtol=0, atol=0)
        assert copied[1].spec is model[1].spec
    act = actlab.activation(name)
    assert pickle.loads(pickle.dumps(act)) == act


# Shapes, chunk counts and fixed parameters become constants of a trace, as they are for torch.nn's layers;
# TorchScript itself is deprecated in favour of torch.export (tested too) but still what many deployments use
@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore:.*torch.jit.*:DeprecationWarning")
@pytest.mark.parametrize("name", actlab.names())
def test_trace_and_export(name):
    model, x = model_with(name), inputs()
    want = model(x)
    traced = torch.jit.trace(model, x)
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    buffer.seek(0)
    torch.testing.assert_close(torch.jit.load(buffer)(x), want)
    exported = torch.export.export(model, (x,))
    torch.testing.assert_close(exported.module()(x), want)


@pytest.mark.parametrize("name", actlab.names())
def test_compile_traces_forward_and_backward(name):
    """Dynamo and AOTAutograd through every activation (the aot_eager backend: no code generation, so all of the
    catalog runs in seconds); inductor's code generation is tested on a sample below."""
    model, x = model_with(name), inputs().requires_grad_()
    compiled = torch.compile(model, backend="aot_eager", fullgraph=False)
    want = model(x)
    (grad,) = torch.autograd.grad(want.sum(), x)
    got = compiled(x)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(torch.autograd.grad(got.sum(), x)[0], grad)


@pytest.mark.parametrize("name", ["tanhexp", "prelu", "swiglu"])
def test_compile_with_inductor(name):
    model, x = model_with(name), inputs()
    torch.testing.assert_close(torch.compile(model)(x), model(x))


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore:.*torch.jit.*:DeprecationWarning")
def test_user_defined_activations_too(registry):
    actlab.define("atan_softplus", "x * atan(softplus(x))")
    actlab.define("serf_alpha", "x * erf(alpha * softplus(x))", alpha={"default": 1.0, "learnable": True})
    for name in ("atan_softplus", "serf_alpha"):
        test_save_load_pickle_deepcopy(name)
        test_trace_and_export(name)
        test_compile_traces_forward_and_backward(name)


def test_a_user_activation_pickles_and_loads_in_a_process_that_lacks_it(registry, tmp_path):
    import subprocess
    import sys

    actlab.define("atan_softplus", "x * atan(softplus(x))")
    model = model_with("atan_softplus")
    path = tmp_path / "model.pt"
    torch.save(model, path)
    torch.save(model(inputs()), tmp_path / "want.pt")
    code = (
        "import torch; from tests.backends.test_serialization import inputs; "
        f"m = torch.load({str(path)!r}, weights_only=False); w = torch.load({str(tmp_path / 'want.pt')!r}); "
        "torch.testing.assert_close(m(inputs()), w, rtol=0, atol=0); print(m[1])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Activation[atan_softplus]" in done.stdout
