"""Activations written as formulas are one site each, replaced whole: timm-style classes of a model's own (Swish as
``x * x.sigmoid()``, Mish as ``x * F.softplus(x).tanh()``, hard-swish via ``F.relu6``, hard-mish via ``clamp``,
QuickGELU), the same formulas written inline in a forward, a squeeze-and-excitation gate kept, and a convnext-like
model with its own GELU class keeping its class and API."""

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import actlab
from actlab.swap import swap


class Swish(nn.Module):
    def forward(self, x):
        return x * x.sigmoid()


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class MishByFormula(nn.Module):
    def forward(self, x):
        return x * F.softplus(x).tanh()


class HardSwish(nn.Module):
    def forward(self, x):
        return x * F.relu6(x + 3.0) / 6.0


class HardMish(nn.Module):
    def forward(self, x):
        return 0.5 * x * (x + 2).clamp(min=0, max=2)


class GELU(nn.Module):
    """A library's own GELU class (timm has one), calling the functional form."""

    def forward(self, x):
        return F.gelu(x)


CLASSES = {Swish: "silu", QuickGELU: "quick_gelu", MishByFormula: "mish", HardSwish: "hard_swish",
           HardMish: "hard_mish", GELU: "gelu"}  # fmt: skip


def stack(act=None) -> nn.Sequential:
    """Linear layers with each class above between them (or ``act()`` in their place)."""
    torch.manual_seed(0)
    layers = []
    for cls in CLASSES:
        layers += [nn.Linear(6, 6), act() if act else cls()]
    return nn.Sequential(*layers, nn.Linear(6, 2))


def test_a_model_s_own_activation_classes_are_recognised_and_replaced_whole():
    original = stack().eval()
    swapped, report = swap(original, "elu")
    assert [(r.site, r.old) for r in report.replaced] == [
        (str(2 * i + 1), f"{cls.__name__} (≈ {kind})") for i, (cls, kind) in enumerate(CLASSES.items())
    ]
    assert not report.kept and not report.unreachable and not report.traced
    by_hand = stack(nn.ELU).eval()
    x = torch.randn(4, 6)
    torch.testing.assert_close(swapped(x), by_hand(x))
    assert type(swapped) is nn.Sequential
    assert [r.site for r in swap(original, "elu", match="mish")[1].replaced] == ["5"]
    assert [r.site for r in swap(original, "elu", match="swish")[1].replaced] == ["1"]  # swish at β = 1 is silu
    half = swap(stack().to(torch.bfloat16), "elu")[1]  # recognised from a float64 copy, whatever the model's dtype
    assert [r.old for r in half.replaced] == [r.old for r in report.replaced]


class Formulas(nn.Module):
    """The same activations written inline in one forward (a GraphModule is then needed to replace them)."""

    def __init__(self, hand: bool = False) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.linears = nn.ModuleList(nn.Linear(6, 6) for _ in range(6))
        self.hand = hand

    def forward(self, x):
        act = F.elu if self.hand else None
        h = self.linears[0](x)
        h = act(h) if act else h * torch.sigmoid(1.702 * h)
        h = self.linears[1](h)
        h = act(h) if act else h * F.softplus(h).tanh()
        h = self.linears[2](h)
        h = act(h) if act else F.relu6(h + 3) / 6 * h
        h = self.linears[3](h)
        h = act(h) if act else 0.5 * h * (1.0 + torch.tanh(0.7978845608 * (h + 0.044715 * torch.pow(h, 3.0))))
        h = self.linears[4](h)
        h = act(h) if act else torch.tanh(h) * 2 + h  # no catalog activation: kept, and said so
        return self.linears[5](h)


def test_formulas_in_a_forward_are_one_site_each():
    original = Formulas().eval()
    swapped, report = swap(original, "elu")
    assert [r.old for r in report.replaced] == [
        "x * torch.sigmoid(1.702 * x) (≈ quick_gelu)",
        "x * F.softplus(x).tanh() (≈ mish)",
        "(F.relu6(x + 3) / 6) * x (≈ hard_swish)",
        "(0.5 * x) * (1 + torch.tanh(0.797885 * (x + (0.044715 * torch.pow(x, 3))))) (≈ gelu_tanh)",
    ]
    assert [k.old for k in report.kept] == ["(torch.tanh(x) * 2) + x"]
    assert "not recognised" in report.kept[0].reason
    x = torch.randn(4, 6)
    hand = Formulas(hand=True).eval()
    expected = hand.linears[5](torch.tanh(h := hand.linears[4](F.elu(hand.linears[3](F.elu(hand.linears[2](
        F.elu(hand.linears[1](F.elu(hand.linears[0](x)))))))))) * 2 + h)  # fmt: skip
    torch.testing.assert_close(swapped(x), expected)
    chosen = swap(original, "elu", match="re:add")[1]  # a match replaces the unrecognised formula whole
    assert [r.old for r in chosen.replaced] == ["(torch.tanh(x) * 2) + x"]


class SqueezeExcite(nn.Module):
    """timm's SqueezeExcite: a reduce-act-expand of the pooled input, its sigmoid gating the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv_reduce = nn.Conv2d(channels, 2, 1)
        self.act1 = Swish()
        self.conv_expand = nn.Conv2d(2, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        s = self.conv_expand(self.act1(self.conv_reduce(x.mean((2, 3), keepdim=True))))
        return x * self.gate(s)


class GateOnly(nn.Module):
    """A sigmoid used only as a gate, written as a call: kept by the data flow alone."""

    def __init__(self) -> None:
        super().__init__()
        self.value, self.gate = nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x):
        return self.value(x) * torch.sigmoid(self.gate(x))


def test_gates_are_kept_and_a_match_still_selects_them():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), SqueezeExcite(4)).eval()
    swapped, report = swap(model, "mish")
    assert [(r.site, r.old) for r in report.replaced] == [("1", "nn.ReLU()"), ("2.act1", "Swish (≈ silu)")]
    assert [(k.site, k.old) for k in report.kept] == [("2.gate", "nn.Sigmoid()")]
    assert isinstance(swapped[2].gate, nn.Sigmoid)
    assert [r.site for r in swap(model, "mish", match="sigmoid")[1].replaced] == ["2.gate"]
    gated = swap(GateOnly(), "mish")[1]
    assert not gated.replaced and [(k.old, k.reason.split(":")[0]) for k in gated.kept] == [("torch.sigmoid", "a gate")]


class Pooled(nn.Module):
    """CLIP-style: QuickGELU written inline in the MLP, a pooler's tanh on the first token."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.pool = nn.Linear(4, 8), nn.Linear(8, 4), nn.Linear(4, 4)

    def forward(self, x):
        h = self.fc1(x)
        h = self.fc2(h * torch.sigmoid(1.702 * h))
        return torch.tanh(self.pool(h[:, 0]))


def test_a_pooler_s_tanh_beside_a_formula_is_kept():
    _, report = swap(Pooled(), "mish")
    assert [r.old for r in report.replaced] == ["x * torch.sigmoid(1.702 * x) (≈ quick_gelu)"]
    assert [(k.old, k.reason.split(",")[0]) for k in report.kept] == [("torch.tanh", "squashing")]


class Block(nn.Module):
    def __init__(self, dim: int, act: type[nn.Module]) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.fc1, self.act, self.fc2 = nn.Linear(dim, 2 * dim), act(), nn.Linear(2 * dim, dim)

    def forward(self, x):
        h = self.norm(self.dwconv(x).permute(0, 2, 3, 1))
        return x + self.fc2(self.act(self.fc1(h))).permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    """timm's convnext in small: its own GELU class, and the classifier API timm's models have."""

    def __init__(self, act: type[nn.Module] = GELU, num_classes: int = 3) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 2, stride=2)
        self.stages = nn.Sequential(Block(8, act), Block(8, act))
        self.head_norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, num_classes)

    def forward_features(self, x):
        return self.stages(self.stem(x))

    def forward_head(self, x, pre_logits: bool = False):
        x = self.head_norm(x.mean((2, 3)))
        return x if pre_logits else self.head(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int) -> None:
        self.head = nn.Linear(8, num_classes)


def test_a_convnext_like_model_keeps_its_class_and_api():
    torch.manual_seed(2)
    original = ConvNeXt().eval()
    swapped, report = swap(original, "mish")
    assert type(swapped) is ConvNeXt and not report.traced
    assert [r.old for r in report.replaced] == ["GELU (≈ gelu)"] * 2
    by_hand = ConvNeXt(nn.Mish).eval()
    by_hand.load_state_dict(original.state_dict())
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(swapped(x), by_hand(x))
    torch.testing.assert_close(swapped.forward_features(x), by_hand.forward_features(x))
    assert swapped.get_classifier() is swapped.head
    swapped.reset_classifier(5)
    assert swapped(x).shape == (2, 5)


class Tokens(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc, self.act = nn.Linear(6, 5), nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x))


def test_per_channel_parameters_follow_the_channel_axis():
    tokens = torch.randn(2, 7, 6)  # (batch, tokens, features): the features are the channels
    swapped, _ = swap(Tokens(), "prelu", example=tokens)
    assert swapped.act.a.shape == (5,)
    assert swapped(torch.randn(3, 11, 6)).shape == (3, 11, 5)  # any other number of tokens
    by_axis, _ = swap(Tokens(), "prelu", example=tokens, channel_axis=1)
    assert by_axis.act.a.shape == (7,)
    images, _ = swap(nn.Sequential(nn.Conv2d(1, 3, 1), nn.ReLU()), "prelu", example=torch.randn(2, 1, 4, 4))
    assert images[1].a.shape == (3,)  # (batch, channels, height, width): dimension 1
    with torch.no_grad():
        swapped.act.a.copy_(torch.arange(5.0) / 10)
    x = -torch.ones(1, 2, 6)
    expected = swapped.fc(x)
    expected = torch.where(expected > 0, expected, expected * torch.arange(5.0) / 10)
    torch.testing.assert_close(swapped(x), expected)


@pytest.mark.parametrize("first", ["import actlab.swap", "import actlab.experiments.compare", "actlab.compare"])
def test_actlab_swap_stays_callable_after_importing_the_subpackage(first):
    code = f"import actlab, torch\n{first}\nprint(actlab.swap(torch.nn.ReLU(), 'mish')[1].replaced[0].new)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "mish"
    assert callable(actlab.swap)
