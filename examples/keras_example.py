"""The README's Keras 3 example: actlab activations as Keras functions and layers, saved and loaded in safe mode, and
a model's activations swapped (pip install "actlab[keras]").

    python examples/keras_example.py
"""

# ruff: noqa: I001  (actlab.keras is imported before keras on purpose)
import tempfile
from pathlib import Path

import actlab.keras  # before keras: it picks the torch backend unless you chose one
import keras
import numpy as np
from keras import layers

keras.utils.set_random_seed(0)

model = keras.Sequential(
    [
        keras.Input((20,)),
        layers.Dense(64, activation=actlab.keras.activation("mish")),
        actlab.keras.Activation("prelu"),  # one learned slope per channel
        layers.Dense(64, activation=actlab.keras.activation("hard_swish:n=4")),
        layers.Dense(3, activation="softmax"),
    ]
)
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
x = np.random.default_rng(0).normal(size=(512, 20)).astype("float32")
y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 1)
history = model.fit(x, y, epochs=5, verbose=0)
print("loss:", [round(v, 3) for v in history.history["loss"]])

path = Path(tempfile.mkdtemp()) / "mish.keras"
model.save(path)
again = keras.saving.load_model(path, safe_mode=True)
print("same after loading:", np.array_equal(model.predict(x, verbose=0), again.predict(x, verbose=0)))

baseline = keras.Sequential(
    [
        keras.Input((20,)),
        layers.Dense(64, activation="relu", name="hidden1"),
        layers.Dense(64, name="hidden2"),
        layers.ReLU(name="relu2"),
        layers.Dense(3, activation="softmax", name="classes"),
    ]
)
swapped, report = actlab.keras.swap(baseline, "snake")
print(report)
