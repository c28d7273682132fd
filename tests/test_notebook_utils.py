"""The notebook's helpers: environment report, the run's config and folder, a correct zero-shot baseline."""

import pytest
import torch

from dialogsum_peft.evaluation import evaluate_model, limit_split
from dialogsum_peft.generation import summarize
from dialogsum_peft.hardware import DeviceInfo, in_colab
from dialogsum_peft.metrics import compute_rouge
from conftest import lora
from dialogsum_peft.notebook_utils import (
    LORA, ZERO_SHOT, environment_report, evaluate_zero_shot_and_lora, example_report,
    library_versions, model_size_mb, notebook_config, repo_root, resolve_output_dir,
    zero_shot_and_lora_summaries,
)
from dialogsum_peft.offline import SMOKE_BANNER
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.errors import ConfigError, RunFolderError

GEN = dict(max_new_tokens=8, min_new_tokens=8, batch_size=4)


def _perturb_lora(peft_model, seed=0):
    """Give the fresh adapter (B = 0, a no-op) random weights, as training would."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 2.0)


def test_environment_report_cpu_and_gpu():
    import transformers

    cpu = environment_report(DeviceInfo())
    assert f"transformers {transformers.__version__}" in " ".join(cpu.split())
    assert set(library_versions()) == {"torch", "transformers", "peft", "datasets"}
    assert "CPU only" in cpu and "WARNING" in cpu and "Change runtime type -> GPU" in cpu
    gpu = environment_report(DeviceInfo("cuda", "Tesla T4", 14.7, bf16=False))
    assert "Tesla T4, 14.7 GiB" in gpu and "fp32" in gpu and "WARNING" not in gpu
    assert in_colab() is False


def test_resolve_output_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("DIALOGSUM_OUTPUT_DIR", raising=False)
    root = repo_root()
    assert root is not None and (root / "src" / "dialogsum_peft").is_dir()
    assert resolve_output_dir("outputs/smoke") == root / "outputs" / "smoke"
    assert resolve_output_dir(tmp_path / "abs") == tmp_path / "abs"
    monkeypatch.setenv("DIALOGSUM_OUTPUT_DIR", str(tmp_path / "env"))
    assert resolve_output_dir("outputs/smoke") == tmp_path / "env"


def test_notebook_config_smoke(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIALOGSUM_MODE", "smoke")  # wins over the MODE argument
    monkeypatch.setenv("DIALOGSUM_OUTPUT_DIR", str(tmp_path / "run"))
    config = notebook_config("full", "thorough", eval_size=5, seed=7)
    assert config == TrainConfig.smoke(eval_limit=5, seed=7, output_dir=str(tmp_path / "run"))
    out = capsys.readouterr().out
    assert "MODE='full' -> running in SMOKE mode" in out and str(tmp_path / "run") in out
    assert out.count("!! SMOKE MODE") == 1 and "WARNING" not in out


def test_notebook_config_full_without_gpu(monkeypatch, capsys):
    monkeypatch.setenv("DIALOGSUM_MODE", "full")
    monkeypatch.delenv("DIALOGSUM_OUTPUT_DIR", raising=False)
    config = notebook_config("auto", "thorough")
    # The recipe as it is, in a folder of its own: switching recipes never mixes checkpoints.
    folder = repo_root() / "outputs" / "dialogsum-lora-thorough"
    assert config == TrainConfig.auto(recipe="thorough", output_dir=str(folder))
    out = capsys.readouterr().out
    assert "running in FULL mode" in out and "SMOKE" not in out
    assert "WARNING: no GPU found" in out and "24,920 examples" in out  # 2 epochs x 12,460
    notebook_config("full", "quick")
    assert "8,000 examples" in capsys.readouterr().out  # 250 steps x 32
    with pytest.raises(ConfigError, match="unknown recipe 'fast'"):
        notebook_config("full", "fast")


def test_notebook_config_drive_outside_colab(monkeypatch):
    monkeypatch.setenv("DIALOGSUM_MODE", "smoke")
    with pytest.raises(RunFolderError, match="SAVE_TO_DRIVE = False"):
        notebook_config(save_to_drive=True)


def test_model_size_mb(tiny):
    model, _ = tiny
    n = sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
    assert model_size_mb(model) == pytest.approx(n * 4 / 1e6)
    assert model_size_mb(model.to(torch.bfloat16)) == pytest.approx(n * 2 / 1e6)


def test_zero_shot_is_the_untouched_base_model(tiny, sample):
    model, tok = tiny
    dialogues = list(sample["test"]["dialogue"][:4])
    before = summarize(model, tok, dialogues, progress=False, **GEN)
    peft_model = lora(model)
    _perturb_lora(peft_model)
    out = zero_shot_and_lora_summaries(peft_model, tok, dialogues, **GEN)
    assert list(out) == [ZERO_SHOT, LORA]
    assert out[ZERO_SHOT] == before
    assert out[LORA] == summarize(peft_model, tok, dialogues, progress=False, **GEN)
    assert out[LORA] != before
    # The pitfall the helper avoids: get_peft_model changed `model` in place, so the old
    # variable now generates with the adapter, not zero-shot.
    assert summarize(model, tok, dialogues, progress=False, **GEN) == out[LORA]


def test_evaluate_zero_shot_and_lora(tiny, sample, tmp_path):
    model, tok = tiny
    config = TrainConfig.smoke(output_dir=str(tmp_path), max_new_tokens=8, eval_batch_size=4)
    test = limit_split(sample["test"], 5)
    kwargs = config.generation_kwargs()
    base = evaluate_model(model, tok, test, progress=False, **kwargs)
    peft_model = lora(model)
    _perturb_lora(peft_model, seed=1)
    results = evaluate_zero_shot_and_lora(peft_model, tok, test, config, progress=False)
    assert list(results) == [ZERO_SHOT, LORA]
    assert results[ZERO_SHOT].predictions == base.predictions
    assert results[ZERO_SHOT].scores == pytest.approx(base.scores)
    with_adapter = evaluate_model(peft_model, tok, test, progress=False, **kwargs)
    assert results[LORA].predictions == with_adapter.predictions
    for r in results.values():
        assert len(r.predictions) == 5 and all(0 <= v <= 1 for v in r.scores.values())


def test_example_report(sample):
    test = sample["test"]
    row = test[3]
    perfect = row["references"][-1]
    text = example_report(test, 3, {ZERO_SHOT: "nothing alike here", LORA: perfect})
    flat = " ".join(text.split())  # summaries are wrapped to the line width
    assert f"#3 (id {row['id']}" in text and " ".join(row["summary"].split()) in flat
    assert "ZERO-SHOT:" in text and "LORA:" in text
    mean_r1 = compute_rouge([perfect], [row["references"]])["rouge1"]  # "mean" protocol
    assert f"ROUGE-1 {mean_r1:.3f}" in text and mean_r1 < 1.0  # one reference of several
    assert " ".join(row["dialogue"].split()) in flat and "SMOKE" not in text
    # the dialogue wrapped to the width, each turn starting a line of its own
    assert all(len(line) <= 100 for line in text.splitlines())
    assert all(f"\n{turn.split()[0]} " in text for turn in row["dialogue"].splitlines())
    prompted = example_report(test, 3, {LORA: perfect}, smoke=True, show_prompt=True)
    assert "Summarize the following conversation." in prompted and "PROMPT" in prompted
    assert SMOKE_BANNER.split(":")[0] in prompted
    with pytest.raises(IndexError, match="outside the split"):
        example_report(test, len(test), {LORA: "x"})


def test_settings_table_shows_what_applies_to_each_method():
    """Issue 18: the settings table was config.to_dict()'s 40 rows, and the methods notebook's
    gave IA3, prompt tuning and full fine-tuning a LoRA rank of 32 and targets q, v."""
    from dialogsum_peft.config import TrainConfig
    from dialogsum_peft.methods import METHODS, peft_config
    from dialogsum_peft.notebook_utils import NOT_APPLICABLE, settings_table

    one = settings_table(TrainConfig.smoke())
    assert len(one) <= 12 and list(one.columns) == ["setting"] and NOT_APPLICABLE not in set(one["setting"])
    assert one.loc["LoRA rank r", "setting"] == "32 (alpha 32)" and one.loc["target modules", "setting"] == "q, v"
    assert one.loc["effective batch = batch x accumulation", "setting"] == "8 = 8 x 1"
    full = settings_table(TrainConfig.auto(recipe="quick"))
    assert full.loc["training length", "setting"] == "250 steps"
    assert full.loc["effective batch = batch x accumulation", "setting"].startswith("32 = ")

    table = settings_table({m: TrainConfig.smoke(method=m) for m in METHODS})
    assert len(table) <= 12 and list(table.columns) == list(METHODS) and not table.isna().any().any()
    ia3 = set(peft_config(TrainConfig.smoke(method="ia3")).target_modules)  # what it rescales
    assert table.loc["target modules", "ia3"] == "k, v, wo" and ia3 == {"k", "v", "wo"}
    assert table.loc["target modules", "lora-all"] == "q, k, v, o, wi_0, wi_1, wo"
    for method in ("ia3", "prompt-tuning", "full"):
        assert table.loc["LoRA rank r", method] == NOT_APPLICABLE, method
    assert table.loc["target modules", "prompt-tuning"] == NOT_APPLICABLE
    assert table.loc["virtual tokens", "prompt-tuning"] == "20"
    assert (table.loc["virtual tokens", ["lora", "lora-all", "ia3", "full"]] == NOT_APPLICABLE).all()
