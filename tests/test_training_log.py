"""dialogsum_peft.training_log: transformers' resume note filtered only where nothing changed (on
real Trainer runs), and the Trainer's logs as readable lines."""

from __future__ import annotations

from dialogsum_peft.command_line.commands import make_trainer
from dialogsum_peft.command_line.loading import load_base_model
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.methods import apply_method
from dialogsum_peft.training_log import log_line, seconds


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
        config = TrainConfig.smoke(
            output_dir=str(tmp_path / "run"), max_steps=4, save_steps=2, logging_steps=logging_steps
        )
        assert 0 < config.eval_steps < 1  # a fraction of the run, as in every recipe
        model, tok = load_base_model(config)
        make_trainer(apply_method(model, config), tok, sample, config).train(
            resume_from_checkpoint=resume
        )

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


def test_log_lines_read_as_text():
    from types import SimpleNamespace

    from dialogsum_peft.training_log import log_line, session_metrics

    state = SimpleNamespace(global_step=20, max_steps=30)
    assert (
        log_line(
            {"loss": 6.91234, "grad_norm": 3.3012, "learning_rate": 0.0005, "epoch": 4.0}, state
        )
        == "step 20/30 (epoch 4.00): loss 6.912, gradient norm 3.301, learning rate 0.0005"
    )
    assert (
        log_line(
            {"eval_loss": 7.0, "eval_runtime": 0.25, "eval_samples_per_second": 40.0, "epoch": 4.0},
            state,
        )
        == "step 20/30 (epoch 4.00): validation loss 7 (0.2 s)"
    )
    end = {
        "train_runtime": 12.5,
        "train_samples_per_second": 19.2,  # the Trainer's nominal rate: never shown
        "train_loss": 7.25,
        "total_flos": 1e9,
        "epoch": 6.0,
    }
    assert log_line(end, state) == (
        "training ended at step 20/30: this session trained in 12 s, mean training loss 7.25"
    )
    end.update(session_metrics(steps=20, examples=150, runtime=12.5))
    assert log_line(end, state) == (
        "training ended at step 20/30: this session trained 20 optimizer steps on 150 examples "
        "in 12 s (1.6 steps/s, 12 examples/s), mean training loss 7.25"
    )
    assert log_line(end, state, trained=False) == (
        "nothing to train: the run was already complete at step 20/30"
    )


def test_a_duration_too_short_for_its_decimal_says_so():
    """Review item 11: "validation loss 21.22 (0.0 s)" for a pass of 0.02 s."""
    from types import SimpleNamespace

    assert [seconds(v) for v in (0.0, 0.02, 0.049, 0.05, 0.26, 12.5, 1234)] == [
        "< 0.1 s",
        "< 0.1 s",
        "< 0.1 s",
        "0.1 s",
        "0.3 s",
        "12 s",
        "1,234 s",
    ]
    state = SimpleNamespace(global_step=6, max_steps=30)
    line = log_line({"eval_loss": 21.2235, "eval_runtime": 0.02}, state)
    assert line == "step 6/30: validation loss 21.22 (< 0.1 s)"
