"""Models using actlab's activations save to .keras and load back with safe_mode=True: the configs hold each
activation's notation (and a user's definition, which defines it again in a process that lacks it)."""

import json
import subprocess
import sys
import textwrap
import zipfile

import keras
import numpy as np
from keras import layers

import actlab
import actlab.keras as ak


def _model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(6, activation=ak.activation("mish")),
            ak.Activation("prelu", name="learned"),
            layers.Dense(6, activation=ak.activation("hard_swish:n=4")),
            ak.Activation("glu"),
            layers.Dense(2, activation=ak.activation("atan_softplus")),
            ak.Activation("atan_softplus"),
        ]
    )
    slopes = model.get_layer("learned").weights[0]
    slopes.assign(np.array([0.05, 0.1, 0.2, 0.3, 0.4, 0.5], dtype=np.float32))  # not the initial 0.25: loaded
    return model


def _outputs(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return model(x).detach().numpy()


X = np.random.default_rng(1).normal(size=(16, 4)).astype(np.float32) * 3


def test_a_model_saves_and_loads_back_in_safe_mode(tmp_path, registry):
    actlab.define("atan_softplus", "x * atan(softplus(x))")
    model = _model()
    path = tmp_path / "model.keras"
    model.save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))["config"]["layers"]
    assert config[1]["config"]["activation"]["registered_name"] == "actlab>ActivationFunction"
    assert config[3]["config"]["activation"]["config"]["activation"] == "hard_swish:n=4.0"
    assert config[2]["registered_name"] == "actlab>Activation"
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(_outputs(loaded, X), _outputs(model, X))
    assert isinstance(loaded.get_layer("learned"), ak.Activation)
    np.testing.assert_array_equal(*(m.get_layer("learned").weights[0].value.detach().numpy() for m in (model, loaded)))


def test_another_process_defines_the_user_s_activation_again(tmp_path, registry):
    actlab.define("atan_softplus", "x * atan(softplus(x))")
    model = _model()
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", _outputs(model, X))
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        import actlab.keras, keras
        import actlab
        assert "atan_softplus" not in actlab.names()
        model = keras.saving.load_model(sys.argv[1] + "/model.keras", safe_mode=True)
        y = model(np.load(sys.argv[1] + "/x.npy")).detach().numpy()
        np.testing.assert_array_equal(y, np.load(sys.argv[1] + "/y.npy"))
        print("ok", keras.backend.backend())
        """
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["ok", "torch"]
