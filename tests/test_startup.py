"""Commands start fast: what each one imports (torch, matplotlib, scipy and TorchDynamo only where needed)."""

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "matplotlib", "scipy", "torch._dynamo")
PROBE = """
import json, sys
from actlab.cli import main
sys.argv = ["actlab", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as done:
    code = done.code
heavy = [m for m in {heavy} if m in sys.modules]
sys.stderr.write("\\nLOADED " + json.dumps(heavy) + "\\n")
"""


def loaded(*args: str) -> list[str]:
    """The heavy modules a fresh process imported to run ``actlab ARGS``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), json.dumps(args)], capture_output=True, text=True, timeout=300
    )
    line = next(line for line in done.stderr.splitlines() if line.startswith("LOADED "))
    return json.loads(line.removeprefix("LOADED "))


def test_import_actlab_is_light():
    done = subprocess.run(
        [sys.executable, "-c", f"import sys, actlab; print([m for m in {HEAVY!r} if m in sys.modules])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "args", [["--help"], ["list"], ["show", "relu"], ["show", "gelu", "--json"], ["recipes", "list"]]
)
def test_catalog_commands_import_nothing_heavy(args):
    assert loaded(*args) == []


def test_training_imports_torch_but_no_dynamo_plots_or_scipy_stats(tmp_path):
    quick = ["--epochs", "1", "--seeds", "2", "--train-subset", "200", "--test-subset", "100", "--json"]
    assert loaded("compare", "--activations", "relu,mish", *quick) == ["torch", "scipy"]  # scipy.special's t quantile
    assert set(loaded("compare", "--activations", "relu", *quick, "--out", str(tmp_path))) == {
        "torch",
        "scipy",
        "matplotlib",
    }
    autograd = loaded("train", "--activation", "prelu", "--optimizer", "adam", "--epochs", "1", "--train-subset", "200")
    assert autograd == ["torch", "scipy"]  # torch.optim's functional Adam: no TorchDynamo
