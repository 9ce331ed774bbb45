"""The README's worked example: swap the activations of a small CNN, then compare relu, gelu, mish and tanhexp on it
(scikit-learn's 8×8 digits, offline; 3 seeds × 10 epochs each, under a minute on 2 CPU cores).

    python examples/compare_my_model.py [OUT]
"""

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import actlab

sys.path.insert(0, str(Path(__file__).parent))
from my_model import SmallCNN  # noqa: E402

digits = load_digits()
x = (digits.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8) in [0, 1]
x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=0.25, random_state=0)

model = SmallCNN()
swapped, report = actlab.swap(model, "mish")
print(report)

cmp = actlab.compare(
    model,
    (x_train, y_train, x_test, y_test),
    activations=["relu", "gelu", "mish", "tanhexp"],
    seeds=3,
    epochs=10,
    optimizer="adam",
    lr=1e-3,
    batch_size=64,
    device="cpu",
)
cmp.table(baseline="relu")
print(cmp.markdown(baseline="relu"))
if len(sys.argv) > 1:
    print("wrote", ", ".join(sorted(cmp.save(sys.argv[1], baseline="relu"))))
