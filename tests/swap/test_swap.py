"""actlab.swap on models written the ways real ones are: a shared nn.ReLU(inplace=True) called twice, F.relu and
x.relu() inside forward, an nn.GELU in an nn.Sequential, control flow that torch.fx cannot trace."""

import io
import pickle

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import actlab
from actlab.swap import swap


class Block(nn.Module):
    """ResNet's BasicBlock: one ReLU module (in place) used twice; ``act`` builds the hand-made equivalent."""

    def __init__(self, channels: int, act=None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.hand = act is not None
        if self.hand:
            self.first, self.second = act(channels), act(channels)
        else:
            self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.bn1(self.conv1(x))
        out = self.first(out) if self.hand else self.relu(out)
        out = self.bn2(self.conv2(out)) + x
        return self.second(out) if self.hand else self.relu(out)


class Net(nn.Module):
    def __init__(self, act=None) -> None:
        super().__init__()
        self.hand = act is not None
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.block = Block(4, act)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(4 * 6 * 6, 16), act(16) if act else nn.GELU(), nn.Linear(16, 3)
        )
        if self.hand:
            self.functional, self.method = act(4), act(4)

    def forward(self, x):
        x = self.stem(x)
        x = self.functional(x) if self.hand else F.relu(x, inplace=True)  # in place: `x` is the activated tensor
        x = self.block(x)
        x = self.method(x) if self.hand else x.relu()
        return self.head(x)


def inputs() -> torch.Tensor:
    return torch.randn(5, 1, 6, 6, generator=torch.Generator().manual_seed(0))


def built_by_hand(original: nn.Module, target: str, per_channel: bool = False) -> nn.Module:
    act = actlab.activation(target)
    hand = Net(lambda c: act.module(num_parameters=c if per_channel else 1))
    hand.load_state_dict(original.state_dict(), strict=False)  # the same weights; the activations are new
    return hand.eval()


@pytest.mark.parametrize("target", ["mish", "hard_swish:n=4", "elu"])
def test_every_site_is_replaced_and_the_model_equals_one_built_by_hand(target):
    torch.manual_seed(1)
    original = Net().eval()
    before = original(inputs())
    swapped, report = swap(original, target)
    sites = {r.site: r.old for r in report.replaced}
    assert sites == {
        "relu": "F.relu",
        "block.relu": "nn.ReLU(inplace=True)",
        "block.relu@1": "nn.ReLU(inplace=True)",
        "relu_1": "Tensor.relu",
        "head.2": "nn.GELU(approximate='none')",
    }
    assert not report.unreachable and report.traced == ("<model>",)
    torch.testing.assert_close(swapped(inputs()), built_by_hand(original, target)(inputs()), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(original(inputs()), before, rtol=0, atol=0)  # the original is untouched
    assert all(isinstance(m, nn.ReLU | nn.GELU) for m in (original.block.relu, original.head[2]))


def test_learnable_activations_get_their_own_parameters_per_site_and_channel():
    torch.manual_seed(2)
    original = Net().double().eval()
    swapped, _ = swap(original, "prelu", example=inputs().double())
    slopes = [p for name, p in swapped.named_parameters() if name.endswith(".a") or name == "a"]
    assert len(slopes) == 5 and len({id(p) for p in slopes}) == 5  # no site shares another's parameters
    assert sorted(p.numel() for p in slopes) == [4, 4, 4, 4, 16] and all(p.dtype == torch.float64 for p in slopes)
    x = inputs().double()
    torch.testing.assert_close(swapped(x), built_by_hand(original, "prelu", per_channel=True).double()(x))
    swapped.train()
    swapped(x).sum().backward()
    assert all(p.grad is not None for p in slopes)
    scalar, _ = swap(original, "prelu")  # without an example run the channel counts are unknown: one slope per site
    assert sorted(p.numel() for n, p in scalar.named_parameters() if n.endswith(".a")) == [1, 1, 1, 1, 1]


def test_match_selects_sites():
    original = Net().eval()
    only_relu = {r.site for r in swap(original, "mish", match="ReLU")[1].replaced}
    assert only_relu == {"relu", "block.relu", "block.relu@1", "relu_1"}
    assert {r.site for r in swap(original, "mish", match=nn.GELU)[1].replaced} == {"head.2"}
    assert {r.site for r in swap(original, "mish", match="re:^block")[1].replaced} == {"block.relu", "block.relu@1"}
    by_predicate = swap(original, "mish", match=lambda name: "@" in name)[1]
    assert [r.site for r in by_predicate.replaced] == ["block.relu@1"]
    assert {r.site for r in swap(original, "mish", match=["gelu", "re:^relu$"])[1].replaced} == {"relu", "head.2"}


class SiLUByHand(nn.Module):
    """A model's own activation class: swap recognises it as silu, and its sigmoid is no site of its own."""

    def forward(self, x):
        return x * torch.sigmoid(x)


class Gated(nn.Module):
    """Squeeze-and-excitation style: a sigmoid gate beside the hidden activations."""

    def __init__(self) -> None:
        super().__init__()
        self.body, self.act, self.gate, self.relu = nn.Linear(4, 4), SiLUByHand(), nn.Linear(4, 4), nn.ReLU()

    def forward(self, x):
        h = self.act(self.body(x))
        return self.relu(h) * torch.sigmoid(self.gate(h))


@pytest.mark.parametrize("inplace", [False, True])
def test_match_names_a_model_s_own_activation_class_replaced_whole(inplace):
    _, default = swap(Gated(), "gelu")
    # by default the class is recognised as silu and replaced whole; the gate is kept, and says why
    assert [(r.site, r.old) for r in default.replaced] == [("act", "SiLUByHand (≈ silu)"), ("relu", "nn.ReLU()")]
    assert [(k.site, k.old) for k in default.kept] == [("sigmoid", "torch.sigmoid")]
    assert "a gate" in default.kept[0].reason
    model = Gated()
    swapped, report = swap(model, "gelu", match=[SiLUByHand, "relu"], inplace=inplace)
    assert [(r.site, r.old) for r in report.replaced] == [("act", "SiLUByHand()"), ("relu", "nn.ReLU()")]
    x = torch.randn(3, 4)
    h = F.gelu(model.body(x))
    torch.testing.assert_close(swapped(x), F.gelu(h) * torch.sigmoid(model.gate(h)))  # the gate is kept


class Untraceable(nn.Module):
    """Data-dependent control flow at the top: fx cannot trace it, its children still can."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
        self.block = Functional()
        self.act = nn.Tanh()

    def forward(self, x):
        x = self.act(self.inner(x))
        if x.sum() > 0:
            x = F.relu(x)
        return self.block(x) + torch.sigmoid(x)


class Functional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x):
        return F.silu(self.linear(x))


def test_an_untraceable_model_is_swapped_where_it_can_be_and_names_what_it_cannot():
    swapped, report = swap(Untraceable(), "mish", match="re:.")  # every site, the squashing ones too
    assert {r.site for r in report.replaced} == {"inner.1", "block.silu", "act"}
    unreachable = {(u.old, u.site.split(":")[0]) for u in report.unreachable}
    assert unreachable == {("F.relu", "<model>"), ("torch.sigmoid", "<model>")}
    assert all("does not trace with torch.fx" in u.reason for u in report.unreachable)
    assert "Untraceable.forward line" in report.unreachable[0].site
    assert report.traced == ("block",) and type(swapped) is Untraceable
    x = torch.randn(3, 4)
    swapped(x)  # runs
    assert "could not reach 2" in str(report)
    # by default the tanh and sigmoid beside relu and silu are kept (listed, with why), not unreachable
    _, default = swap(Untraceable(), "mish")
    assert {r.site for r in default.replaced} == {"inner.1", "block.silu"}
    assert [u.old for u in default.unreachable] == ["F.relu"]
    kept = {k.old: k.reason.split(",")[0] for k in default.kept}
    assert kept == {"nn.Tanh()": "squashing", "torch.sigmoid": "squashing"}
    assert "does not trace with torch.fx" in default.kept[0].reason  # the sigmoid, read from the source only


def test_inplace_modifies_the_model_and_reports_what_needs_a_graph():
    model = Net().eval()
    same, report = swap(model, "mish", inplace=True, example=inputs())
    assert same is model and isinstance(model.head[2], nn.Module) and "mish" in repr(model.head[2])
    assert {r.site for r in report.replaced} == {"block.relu", "head.2"}
    reasons = {u.old: u.reason for u in report.unreachable}
    assert set(reasons) == {"F.relu", "Tensor.relu", "nn.ReLU(inplace=True)"}
    assert "called 2 times per forward" in reasons["nn.ReLU(inplace=True)"]


def test_swapped_models_save_and_load_whole():
    swapped, _ = swap(Net().eval(), "tanhexp")
    buffer = io.BytesIO()
    torch.save(swapped, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    torch.testing.assert_close(loaded(inputs()), swapped(inputs()))
    torch.testing.assert_close(pickle.loads(pickle.dumps(swapped))(inputs()), swapped(inputs()))


def test_bad_input():
    with pytest.raises(actlab.ActivationError, match="did you mean mish"):
        swap(Net(), "mishh")
    with pytest.raises(actlab.ActivationError, match="glu is gated"):
        swap(Net(), "glu")
    with pytest.raises(actlab.ActivationError, match="takes an nn.Module"):
        swap(lambda x: x, "mish")
    with pytest.raises(actlab.ActivationError, match="not an nn.Module class"):
        swap(Net(), "mish", match=int)
    with pytest.raises(actlab.ActivationError, match="channel_axis must be an int"):
        swap(Net(), "prelu", channel_axis="last")
    with pytest.raises(actlab.ActivationError, match=r"channel_axis=4 is out of range .* shape \(5, 4, 6, 6\)"):
        swap(Net(), "prelu", example=inputs(), channel_axis=4)
    untouched = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(32, 4), nn.ReLU())
    with pytest.raises(actlab.ActivationError, match=r"channel_axis=3 is out of range .* shape \(5, 4\)"):
        swap(untouched, "prelu", example=inputs(), channel_axis=3, inplace=True)  # valid for the first site only
    assert isinstance(untouched[1], nn.ReLU)  # nothing half-swapped


def test_the_readme_s_example_model():
    import importlib.util
    from pathlib import Path

    from typer.testing import CliRunner

    from actlab.cli import app

    path = Path(__file__).parents[2] / "examples" / "my_model.py"
    spec = importlib.util.spec_from_file_location("readme_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _, report = swap(module.SmallCNN(), "mish")
    assert [r.old for r in report.replaced] == ["nn.ReLU(inplace=True)"] * 2 + ["F.relu", "nn.GELU(approximate='none')"]
    from actlab.backends.torch_module import ActivationModule
    from actlab.models.user_build import ActivationFactory

    built, calls = module.build(ActivationFactory(actlab.activation("mish"))), []
    for site in built.modules():
        if isinstance(site, ActivationModule):
            site.register_forward_hook(lambda *args: calls.append(args[0]))
    built(torch.randn(2, 1, 8, 8))
    assert len({id(m) for m in calls}) == len(calls) == 4  # build's act() goes where swap puts the activation
    quick = ["--activations", "relu,mish", "--seeds", "1", "--epochs", "1", "--train-subset", "200", "--json"]
    result = CliRunner().invoke(
        app, ["compare", "--model", f"{path}:build", "--optimizer", "adam", "--lr", "0.001", *quick]
    )
    assert result.exit_code == 0, result.output
