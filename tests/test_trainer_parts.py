"""dialogsum_peft.trainer_parts on real Trainer runs: NaN weights never reach a checkpoint, and the
length-grouped batch order depends only on the seed and the epoch (an exact resume)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dialogsum_peft.command_line.run_outputs import save_adapter
from dialogsum_peft.run_folder import RunFolder
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.errors import TrainingError
from dialogsum_peft.methods import apply_method
from dialogsum_peft.command_line.loading import load_base_model
from dialogsum_peft.trainer import make_trainer


def test_nan_between_logs_never_reaches_a_checkpoint(sample, tmp_path):
    from transformers import TrainerCallback

    class Overflow(TrainerCallback):
        """After step 2, make the base model overflow as fp16 would (inf -> NaN activations)."""

        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step == 2:
                with torch.no_grad():
                    model.get_base_model().encoder.final_layer_norm.weight.fill_(float("nan"))

    # a checkpoint every step but a log only every 5: the loss check alone would come too late
    config = TrainConfig.smoke(output_dir=str(tmp_path), max_steps=8, logging_steps=5,
                               save_steps=1, save_total_limit=5)
    model, tok = load_base_model(config)
    peft_model = apply_method(model, config)
    trainer = make_trainer(peft_model, tok, sample, config, callbacks=[Overflow()])
    with pytest.raises(TrainingError,
                       match=r"weights became NaN/inf at step 3 .*fp16.*before checkpoint-3"):
        trainer.train()
    ckpts = tmp_path / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-1", "checkpoint-2"]
    from safetensors.torch import load_file

    for ckpt in ckpts.iterdir():
        weights = load_file(ckpt / "adapter_model.safetensors")
        assert weights and all(torch.isfinite(t).all() for t in weights.values())
    assert Path(RunFolder(tmp_path).last_checkpoint()).name == "checkpoint-2"  # resumable, sound
    # and the broken model cannot be saved as an adapter either
    with pytest.raises(TrainingError, match="refusing to save weights with NaN"):
        save_adapter(peft_model, tmp_path / "adapter")
    assert not (tmp_path / "adapter").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".adapter")] == []


def test_batch_order_depends_only_on_seed_and_epoch(sample, tiny, tmp_path):
    """What makes a mid-epoch resume exact: the global RNG (dropout draws) cannot move batches."""
    model, tok = tiny
    config = TrainConfig.smoke(output_dir=str(tmp_path))
    trainer = make_trainer(apply_method(model, config), tok, sample, config)
    loader = trainer.get_train_dataloader()

    def order(epoch, noise_seed):
        torch.manual_seed(noise_seed)
        loader.set_epoch(epoch)
        return [tuple(b["input_ids"].sum(dim=1).tolist()) for b in loader]

    assert order(1, noise_seed=1) == order(1, noise_seed=2)
    assert order(0, noise_seed=3) != order(1, noise_seed=3)  # still reshuffled every epoch


def test_resume_shows_transformers_note_only_for_a_real_change(sample, tmp_path):
    """Before the filter every resume of an unchanged run logged "eval_steps: 0.2 (from args) !=
    1 (from trainer_state.json)": our fraction against the step count it became. A changed
    logging interval is still reported."""
    import logging

    notes = []

    class Keep(logging.Handler):
        def emit(self, record):  # the resume note only (other notes share this logger)
            if "trainer_state.json" in record.getMessage():
                notes.append(record.getMessage())

    def train(logging_steps, resume=None):
        config = TrainConfig.smoke(output_dir=str(tmp_path / "run"), max_steps=4, save_steps=2,
                                   logging_steps=logging_steps)
        assert 0 < config.eval_steps < 1  # a fraction of the run, as in every recipe
        model, tok = load_base_model(config)
        make_trainer(apply_method(model, config), tok, sample, config).train(
            resume_from_checkpoint=resume)

    logger = logging.getLogger("transformers.trainer_utils")
    handler = Keep()
    logger.addHandler(handler)
    try:
        train(1)
        checkpoint = str(tmp_path / "run" / "checkpoints" / "checkpoint-2")
        train(1, resume=checkpoint)
        assert notes == []
        train(2, resume=checkpoint)
    finally:
        logger.removeHandler(handler)
    (note,) = notes
    assert "logging_steps: 2 (from args) != 1" in note and "eval_steps" not in note
    assert not logger.filters  # the filter is removed after each train()


# ------------------------------------------------------------------ issue 32 (11): messages
def test_session_and_validation_reports_describe_this_session(sample, tmp_path, capsys):
    """A second "Run all" resumes a finished run: before the fix the notebook printed "0 s in this
    session" and "1 validation passes took 0.2 s of the 0.0 s that training took" (earlier
    sessions' passes set against this session's time)."""
    def trainer_for(max_steps=5):  # 40 examples in batches of 8: 5 steps are one whole epoch
        config = TrainConfig.smoke(output_dir=str(tmp_path / "run"), max_steps=max_steps,
                                   save_steps=5, logging_steps=1, eval_steps=5)
        model, tok = load_base_model(config)
        return make_trainer(apply_method(model, config), tok, sample, config)

    first = trainer_for()
    result = first.train()
    assert first.session_report(result) == (
        f"trained steps 1 to 5 of 5 in this session ({result.metrics['train_runtime']:.1f} s)")
    (seconds,) = [e["eval_runtime"] for e in first.state.log_history if "eval_runtime" in e]
    assert first.validation_report(result) == (
        f"1 validation pass in this session took {seconds:.1f} s of the "
        f"{result.metrics['train_runtime']:.1f} s this session's training took")

    checkpoint = str(tmp_path / "run" / "checkpoints" / "checkpoint-5")
    again = trainer_for()
    result = again.train(resume_from_checkpoint=checkpoint)
    assert again.session_report(result) == ("nothing to train in this session: the run was "
                                            "already complete at step 5 of 5 (resumed from its "
                                            "last checkpoint, whose model this is)")
    assert again.validation_report(result) == (
        "no validation pass ran in this session; 1 ran in an earlier session")

    longer = trainer_for(max_steps=10)  # resumed half way: this session's steps and passes only
    result = longer.train(resume_from_checkpoint=checkpoint)
    assert longer.session_report(result).startswith("trained steps 6 to 10 of 10 in this session (")
    assert longer.session_report(result).endswith(", resumed from step 5)")
    assert longer.validation_report(result).startswith("1 validation pass in this session took ")
    assert longer.validation_report(result).endswith("; 1 more ran in an earlier session")


def test_log_lines_read_as_text():
    from types import SimpleNamespace

    from dialogsum_peft.trainer_parts import log_line

    state = SimpleNamespace(global_step=20, max_steps=30)
    assert log_line({"loss": 6.91234, "grad_norm": 3.3012, "learning_rate": 0.0005, "epoch": 4.0},
                    state) == "step 20/30 (epoch 4.00): loss 6.912, gradient norm 3.301, learning rate 0.0005"
    assert log_line({"eval_loss": 7.0, "eval_runtime": 0.25, "eval_samples_per_second": 40.0,
                     "epoch": 4.0}, state) == "step 20/30 (epoch 4.00): validation loss 7 (0.2 s)"
    end = {"train_runtime": 12.5, "train_samples_per_second": 19.2, "train_loss": 7.25,
           "total_flos": 1e9, "epoch": 6.0}
    assert log_line(end, state) == ("training ended at step 20/30: 12 s in this session, "
                                    "19.2 examples/s, mean training loss 7.25")
    assert log_line(end, state, trained=False) == (
        "nothing to train: the run was already complete at step 20/30")
