"""The fingerprint of a model given to compare: equal for the same model in every process, different when anything
it trains changes."""

import subprocess
import sys
import textwrap

import torch
from torch import nn

from actlab.models.fingerprint import fingerprint
from actlab.models.user_build import from_template

SCRIPT = textwrap.dedent(
    """
    import sys
    from torch import nn
    from actlab.models.fingerprint import fingerprint
    from actlab.models.user_build import from_template

    WIDTH = int(sys.argv[1])

    def build(act):
        return nn.Sequential(nn.Linear(8, WIDTH), act(), nn.Linear(WIDTH, 3))

    class Net(nn.Module):  # no seed before it is made: its initial weights differ in every process
        def __init__(self):
            super().__init__()
            self.body, self.act, self.head = nn.Linear(8, WIDTH), nn.ReLU(), nn.Linear(WIDTH, 3)

        def forward(self, x):
            return self.head(self.act(self.body(x)))

    print(fingerprint(build), fingerprint(from_template(Net())))
    """
)


def _fingerprints(tmp_path, width: int) -> list[str]:
    script = tmp_path / "model.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(width)], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_the_same_model_has_the_same_fingerprint_in_every_process_and_a_changed_one_another(tmp_path):
    first, again, wider = (_fingerprints(tmp_path, w) for w in (4, 4, 16))
    assert first == again  # a template's random initial weights are drawn again by every run: they do not count
    assert first[0] != wider[0] and first[1] != wider[1]  # a width read from a global variable counts


def test_what_a_build_function_reads_counts():
    makers = [lambda act, w=w: nn.Sequential(nn.Linear(4, w), act()) for w in (2, 3)]  # a default argument
    assert fingerprint(makers[0]) != fingerprint(makers[1])

    def closure(width):
        return lambda act: nn.Sequential(nn.Linear(4, width), act())

    assert fingerprint(closure(2)) != fingerprint(closure(3))


class Positional(nn.Module):
    """A parameter held without reset_parameters: runs keep the template's values, so they count."""

    def __init__(self, start: float):
        super().__init__()
        self.linear, self.act = nn.Linear(4, 4), nn.Tanh()
        self.offset = nn.Parameter(torch.full((4,), start))

    def forward(self, x):
        return self.act(self.linear(x) + self.offset)


def test_a_template_s_parameters_that_runs_keep_count():
    assert fingerprint(from_template(Positional(0.0))) == fingerprint(from_template(Positional(0.0)))
    assert fingerprint(from_template(Positional(0.0))) != fingerprint(from_template(Positional(1.0)))


def test_fingerprinting_leaves_the_random_state_as_it_was():
    model = Positional(0.0)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    fingerprint(from_template(model))
    assert torch.equal(torch.rand(3), expected)
