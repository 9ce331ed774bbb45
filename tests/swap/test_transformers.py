"""actlab.swap on Hugging Face transformers models built from tiny configs (random weights, nothing downloaded): the
swapped model equals the model transformers builds with the target activation, keeps its class and API, takes a
BatchEncoding as ``example=``, and saves and loads with save_pretrained / from_pretrained."""

import pickle
import warnings

import pytest
import torch

from actlab.swap import swap
from actlab.swap.pretrained import SwapWarning

transformers = pytest.importorskip("transformers")

GPT2 = {"n_embd": 32, "n_layer": 2, "n_head": 2, "vocab_size": 100, "n_positions": 32, "bos_token_id": 0,
        "eos_token_id": 0}  # fmt: skip
BERT = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
        "vocab_size": 100, "max_position_embeddings": 32}  # fmt: skip
LLAMA = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
         "num_key_value_heads": 2, "vocab_size": 100, "max_position_embeddings": 32, "bos_token_id": 0,
         "eos_token_id": 0, "pad_token_id": 0}  # fmt: skip
VIT = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64,
       "image_size": 16, "patch_size": 8}  # fmt: skip


def ids(batch: int = 2, length: int = 7) -> torch.Tensor:
    return torch.randint(0, 100, (batch, length), generator=torch.Generator().manual_seed(batch * length))


def twin(model_class, config_class, field: str, old: str, new: str, options: dict):
    """A model built with activation ``old``, and the same weights in one built with ``new``."""
    torch.manual_seed(0)
    original = model_class(config_class(**{field: old}, **options)).eval()
    target = model_class(config_class(**{field: new}, **options)).eval()
    target.load_state_dict(original.state_dict())
    return original, target


def test_gpt2_s_new_gelu_is_one_site_and_the_swap_equals_gpt2_built_with_mish():
    original, target = twin(transformers.GPT2LMHeadModel, transformers.GPT2Config, "activation_function",
                            "gelu_new", "mish", GPT2)  # fmt: skip
    swapped, report = swap(original, "mish")
    assert [(r.site, r.old) for r in report.replaced] == [
        (f"transformer.h.{i}.mlp.act", "NewGELUActivation (≈ gelu_tanh)") for i in range(2)
    ]
    assert not report.unreachable and not report.kept and not report.traced
    assert type(swapped) is transformers.GPT2LMHeadModel
    torch.testing.assert_close(swapped(ids()).logits, target(ids()).logits, rtol=1e-5, atol=1e-5)
    assert swapped.generate(ids(1, 3), max_new_tokens=2, do_sample=False).shape == (1, 5)


def test_bert_swapped_to_silu_equals_bert_built_with_silu_and_its_pooler_tanh_is_kept():
    original, target = twin(transformers.BertModel, transformers.BertConfig, "hidden_act", "gelu", "silu", BERT)
    swapped, report = swap(original, "silu")
    assert [r.old for r in report.replaced] == ["GELUActivation (≈ gelu)"] * 2
    assert [(k.site, k.old) for k in report.kept] == [("pooler.activation", "nn.Tanh()")]
    mask = torch.ones(2, 7, dtype=torch.long)
    mine, theirs = swapped(input_ids=ids(), attention_mask=mask), target(input_ids=ids(), attention_mask=mask)
    torch.testing.assert_close(mine.last_hidden_state, theirs.last_hidden_state, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(mine.pooler_output, theirs.pooler_output, rtol=1e-5, atol=1e-5)
    assert swapped.config.hidden_act == "silu"


def test_vit_and_llama_equal_the_models_built_with_the_target():
    original, target = twin(transformers.ViTModel, transformers.ViTConfig, "hidden_act", "gelu",
                            "gelu_pytorch_tanh", VIT)  # fmt: skip
    swapped, report = swap(original, "gelu_tanh")
    pixels = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(swapped(pixel_values=pixels).last_hidden_state,
                               target(pixel_values=pixels).last_hidden_state)  # fmt: skip
    original, target = twin(transformers.LlamaForCausalLM, transformers.LlamaConfig, "hidden_act", "silu", "mish",
                            LLAMA)  # fmt: skip
    swapped, report = swap(original, "mish")
    assert [r.old for r in report.replaced] == ["SiLUActivation (≈ silu)"] * 2
    assert not report.kept  # rotary embeddings' cos and sin, the norms' rsqrt: no activations
    torch.testing.assert_close(swapped(ids()).logits, target(ids()).logits, rtol=1e-5, atol=1e-5)


def test_per_channel_parameters_take_the_features_axis_from_a_batch_encoding():
    torch.manual_seed(0)
    bert = transformers.BertModel(transformers.BertConfig(**BERT)).eval()
    example = transformers.BatchEncoding({"input_ids": ids(), "attention_mask": torch.ones(2, 7, dtype=torch.long)})
    swapped, _ = swap(bert, "prelu", example=example)
    slopes = {n: p.shape for n, p in swapped.named_parameters() if n.endswith("intermediate_act_fn.a")}
    assert list(slopes.values()) == [(64,), (64,)]  # the intermediate size, not the sequence length
    assert swapped(input_ids=ids(3, 11)).last_hidden_state.shape == (3, 11, 32)
    llama = transformers.LlamaForCausalLM(transformers.LlamaConfig(**LLAMA)).eval()
    swapped, _ = swap(llama, "prelu", example={"input_ids": ids()})
    assert swapped.generate(ids(1, 4), max_new_tokens=3, do_sample=False).shape == (1, 7)


def test_save_pretrained_after_a_swap_rebuilds_the_swapped_model(tmp_path):
    torch.manual_seed(0)
    llama = transformers.LlamaForCausalLM(transformers.LlamaConfig(**LLAMA)).eval()
    swapped, _ = swap(llama, "mish")
    swapped.save_pretrained(tmp_path / "mish")
    loaded = transformers.LlamaForCausalLM.from_pretrained(tmp_path / "mish").eval()
    assert loaded.config.hidden_act == "mish" and llama.config.hidden_act == "silu"
    torch.testing.assert_close(loaded(ids()).logits, swapped(ids()).logits)
    unnamed, _ = swap(llama, "tanhexp")  # transformers has no name for it: saving says what to do
    with pytest.warns(SwapWarning, match="from_pretrained will rebuild its old activations.*swap again"):
        unnamed.save_pretrained(tmp_path / "tanhexp")
    assert transformers.LlamaConfig.from_pretrained(tmp_path / "tanhexp").hidden_act == "silu"
    copied = pickle.loads(pickle.dumps(unnamed))  # the warning travels with the model
    with pytest.warns(SwapWarning):
        copied.save_pretrained(tmp_path / "copied")
    partly, _ = swap(llama, "mish", match="re:layers\\.0\\.")  # only some sites: the config cannot say so
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        partly.save_pretrained(tmp_path / "partly")
    assert any("only some of its activations" in str(w.message) for w in caught)
    assert partly.config.hidden_act == "silu"


def test_an_activation_left_unrecognised_keeps_the_config_as_it_was(tmp_path):
    torch.manual_seed(0)
    gpt2 = transformers.GPT2LMHeadModel(transformers.GPT2Config(activation_function="gelu_10", **GPT2)).eval()
    gpt2.transformer.h[0].mlp.act = transformers.activations.NewGELUActivation()  # one site recognised, one not
    swapped, report = swap(gpt2, "mish")
    assert [r.site for r in report.replaced] == ["transformer.h.0.mlp.act"]
    assert [(k.site, k.old) for k in report.kept] == [("transformer.h.1.mlp.act", "ClippedGELUActivation")]
    assert swapped.config.activation_function == "gelu_10"
    with pytest.warns(SwapWarning, match="did not recognise"):
        swapped.save_pretrained(tmp_path)
