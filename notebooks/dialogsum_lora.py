# ---
# jupyter:
#   accelerator: GPU
#   colab:
#     gpuType: T4
#     provenance: []
#     toc_visible: true
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: accelerator,colab,kernelspec,language_info
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   language_info:
#     name: python
# ---

# %% [markdown]
# # Teach Flan-T5 to summarize dialogues with LoRA
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dialogsum-peft/dialogsum_peft/blob/main/notebooks/dialogsum_lora.ipynb)
#
# **google/flan-t5-base** (an instruction-tuned encoder-decoder with 248M parameters) already
# summarizes text "zero-shot", just because we ask it to. In this notebook we make it better at
# summarizing **DialogSum** conversations by training only **1.4% of its parameters** with
# **LoRA** (Low-Rank Adaptation, from Hugging Face's `peft` library), and we measure the gain
# honestly.
#
# **What you will learn**
#
# * what DialogSum looks like, and how an instruction *prompt* turns a dialogue into a task;
# * how good the model is *before* training (the zero-shot baseline), with `model.generate`;
# * what LoRA is, and how `LoraConfig` + `get_peft_model` turn 248M parameters into 3.5M
#   trainable ones;
# * how to train with `Seq2SeqTrainer` (`Seq2SeqTrainingArguments`, `DataCollatorForSeq2Seq`),
#   resume after a disconnect, and never use fp16 with T5;
# * how to compare two models with ROUGE correctly: same test dialogues, every human reference,
#   word-level scores, and published figures only under the same *protocol* (the way the scores
#   against a dialogue's several human summaries are combined);
# * whether a gain is real (95% bootstrap intervals), whether training over-fits (the validation
#   loss beside the training loss), and where the model fails (by length, by topic, its worst
#   dialogues);
# * how to save the adapter (about 14 MB instead of about 1 GB), load it with
#   `PeftModel.from_pretrained` and fold it into the model with `merge_and_unload`.
#
# Run the cells from top to bottom (*Runtime → Run all* in Colab). The machine-learning code is in
# the cells; the small, tested `dialogsum_peft` package of the repository loads the data, fixes
# three pitfalls of the Trainer, scores ROUGE and draws the tables and plots.
#
# **Runtime**: on a free Colab T4, training with the default settings takes about 10–25
# minutes, an **estimate** from
# FLOPs, not a measurement (its basis and the expected scores: the README's
# [What to expect](../README.md#what-to-expect) and [docs/notebook.md](../docs/notebook.md)).

# %% [markdown]
# ## 1. Setup
#
# In **Colab** the next cell downloads the repository (for its helper package and
# `requirements.txt`) and installs what this notebook needs that Colab lacks (`evaluate`,
# `rouge_score`, `pysbd`): Colab's own torch, transformers, peft and Jupyter stay as they are, so
# no restart is needed. **Locally**, from a clone set up as its README says, it has nothing to
# install. Either way it imports the helpers from the clone's `src/` folder (an installed package
# would become importable only after a restart).

# %%
import os
import subprocess
import sys
from pathlib import Path

REPO_URL = "https://github.com/dialogsum-peft/dialogsum_peft"  # where the tutorial's code lives
# both notebooks' set-up cell, one copy each: a notebook fetches the package before importing it

if "google.colab" in sys.modules:
    repo = Path("/content/dialogsum_peft")
    if not repo.exists():
        clone = subprocess.run(["git", "clone", "-q", "--depth", "1", REPO_URL, str(repo)],
                               capture_output=True, text=True, check=False)
        if clone.returncode != 0:
            from IPython.core.error import UsageError  # shown as its message alone, no traceback

            reason = (clone.stderr.strip().splitlines() or ["git clone failed"])[-1]
            raise UsageError(f"Could not clone {REPO_URL} ({reason}). Set REPO_URL at the top of "
                             "this cell to the address of the tutorial's repository (your copy of "
                             "it), then run this cell again.")
    os.chdir(repo)
    # requirements.txt: Colab's own packages meet its ranges, so this adds only what the runtime
    # lacks (evaluate, rouge_score, pysbd, the helper package) and says so in one line
    if subprocess.run([sys.executable, "scripts/colab_install.py"], check=False).returncode:
        from IPython.core.error import UsageError

        raise UsageError("Installing requirements.txt failed: the error is above.")
else:
    repo = Path.cwd().resolve().parent  # locally this notebook sits in the clone's notebooks/
sys.path.insert(0, str(repo / "src"))

# %% [markdown]
# Which libraries and which accelerator do we have? Training flan-t5-base needs a **GPU**: on a
# CPU-only runtime, in Colab choose **Runtime → Change runtime type → GPU** (a T4 is free) and
# start again from the top. The smoke mode (next cell) runs on a CPU; the configuration cell warns
# when the run it sets up would train flan-t5-base on a CPU.

# %%
# %matplotlib inline
import random
import warnings

import matplotlib.pyplot as plt
import pandas as pd
import torch

from dialogsum_peft.notebook_setup import environment_report

pd.set_option("display.max_colwidth", None)  # show whole dialogues and summaries in tables
# peft 0.21 reads a model property that transformers 5.2x deprecated when `get_peft_model` or
# `PeftModel.from_pretrained` wraps a model: a FutureWarning no one running this notebook can
# act on (the helper package silences it around its own calls only)
warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated", FutureWarning)
print(environment_report())

# %% [markdown]
# ## 2. Configuration: the only cell with knobs
#
# * `MODE`: `"full"` is the real thing (google/flan-t5-base and DialogSum from the Hugging Face
#   Hub); `"smoke"` runs offline with a **tiny randomly initialised T5** on the small sample
#   shipped with the repository: it proves every cell runs, but its summaries are gibberish and
#   its scores meaningless (every result says so); `"auto"` (default) is full when the Hub
#   answers or `MODEL` and `DATA` are local folders, smoke otherwise. The environment variable
#   `DIALOGSUM_MODE` overrides `MODE`.
# * `RECIPE`: a **recipe** is a fixed training schedule: how long to train, the learning rate
#   and the effective batch. `"quick"` trains 250 steps of 32 examples (8,000 of DialogSum's
#   12,460 training dialogues, about 2/3 of an epoch); `"thorough"` trains 2 epochs. Both use the
#   same learning rate (1e-3, linear decay after a 6% warm-up) and the same **effective batch** of
#   32 examples per optimizer step on every card: a card that fits fewer examples at once (a T4:
#   8) adds up the gradients of several batches (4 × 8) before each step, so results do not
#   depend on the GPU. The recipes, and each method's learning rate in them, are written in
#   `dialogsum_peft/recipes.py`.
#   `RECIPE` applies in full mode; smoke mode trains the tiny model's own short schedule (30
#   steps of 8 examples: the whole notebook runs in minutes on a CPU) and says so in one line. A
#   misspelt recipe is an error in both modes. (The command line differs here: `--recipe` on
#   `--preset smoke` trains that recipe on the tiny model.)
# * `EVAL_SIZE`: how many test dialogues to score (`None` = all of the test split: 500 in full
#   mode). 100 is quicker and noisier.
# * `SAVE_TO_DRIVE` (Colab only): keep checkpoints and the adapter on your Google Drive, so they
#   survive a disconnect. With `RESUME = True` a rerun continues from the last checkpoint.
# * `MODEL`, `DATA`: `None` loads google/flan-t5-base and DialogSum from the Hub; **local
#   folders** (a `save_pretrained` copy of the model, the DialogSum files or your own, as in the
#   README) work offline, e.g. on a cluster without internet (smoke mode refuses them rather than
#   drop them). The environment variables `DIALOGSUM_MODEL` and `DIALOGSUM_DATA` override them
#   (the README shows a headless run); so does papermill's `-p`, as this is the notebook's
#   `parameters` cell.
#
# `notebook_config` builds the run's `TrainConfig` from these knobs: every value the next cells
# use comes from it, and the command line (`python -m dialogsum_peft train`) is driven by the
# same `TrainConfig`. The table below shows the settings worth reading (`config.to_dict()` lists
# all of them).

# %% tags=["parameters"]
MODE = "auto"          # "full" | "smoke" | "auto" (the environment variable DIALOGSUM_MODE wins)
RECIPE = "quick"       # "quick" (250 steps x 32 examples) | "thorough" (2 epochs)
EVAL_SIZE = None       # test dialogues to score; None = all of them (500 in full mode)
SEED = 42
SAVE_TO_DRIVE = False  # Colab: keep checkpoints on Google Drive to survive a disconnect
RESUME = True          # continue from the last checkpoint in the output folder, if there is one
MODEL = DATA = None    # None: the Hub's; or local folders (DIALOGSUM_MODEL / DIALOGSUM_DATA win)

from dialogsum_peft.notebook_setup import notebook_config, settings_table

config = notebook_config(MODE, RECIPE, EVAL_SIZE, SEED, SAVE_TO_DRIVE, model=MODEL, data=DATA)
settings_table(config)  # the settings to read; config.to_dict() lists all of them

# %% [markdown]
# ## 3. The data: DialogSum
#
# DialogSum has 12,460 training, 500 validation and 500 test dialogues of everyday life
# (shopping, doctors, job interviews…), each with a summary written by a person. Speakers are
# written `#Person1#`, `#Person2#`. Each **test** dialogue has **three** human summaries: the
# loader groups them into one row with all three `references`, so each dialogue is summarized once
# and scored against every reference (the Hub lists it three times, once per summary).
# DialogSum is licensed CC BY-NC-SA 4.0 (non-commercial). Smoke mode reads the project's small
# offline sample instead, dialogues written for this project in DialogSum's format (its test
# dialogues have two or three summaries each); the cell prints each split's size.

# %%
from dialogsum_peft.data import build_prompt, load_dialogsum
from dialogsum_peft.dialogues import show_random_elements

ds = load_dialogsum(config.dataset_source)
test = ds["test"]
print("dialogues per split:", {split: len(ds[split]) for split in ds})
show_random_elements(ds["train"], num_examples=3, seed=SEED)

# %% [markdown]
# Flan-T5 was trained on instructions, so we wrap each dialogue in one. The **same** prompt is
# used for training, for every evaluation and for the zero-shot baseline: a model trained on one
# prompt and tested on another is not tested on what it learned. The model reads this:

# %%
print(build_prompt(ds["train"][0]["dialogue"]))
print("\nand learns to write:", ds["train"][0]["summary"])

# %% [markdown]
# ## 4. The model: Flan-T5 base
#
# Flan-T5 is an encoder-decoder: the encoder reads the prompt, the decoder writes the summary one
# token at a time. It is loaded in bf16 on GPUs that support it and in fp32 otherwise
# (`config.torch_dtype`), never in fp16: T5's activations overflow fp16's range and the loss turns
# NaN. `attn_implementation="eager"` is the faster attention kernel for T5 (its learned position
# bias rules out the fused kernels). In smoke mode `model_path` is the folder of the tiny T5,
# loaded through the very same `from_pretrained` calls. For now all of its parameters are
# trainable (`num_parameters()` counts them): full fine-tuning would update every one of them and
# store a new 1 GB model per task.

# %%
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

device = "cuda" if torch.cuda.is_available() else "cpu"
model_path = config.model_path  # the Hub id or your folder; smoke: the tiny T5's folder
tokenizer = AutoTokenizer.from_pretrained(model_path)
model = AutoModelForSeq2SeqLM.from_pretrained(
    model_path, dtype=config.torch_dtype, attn_implementation=config.attn_implementation,
    use_safetensors=True,
).to(device)
print(f"{config.model_name}: {model.dtype} on {model.device}")
print(f"{model.num_parameters():,} parameters, {model.num_parameters(only_trainable=True):,} "
      "of them trainable")

# %% [markdown]
# ## 5. Zero-shot: how well does it summarize before any training?
#
# We build the prompt for one random test dialogue, tokenize it and let the model write greedily
# (`do_sample=False`: always the most likely next token, so the output is reproducible).
# `pick_index(test, None)` draws another test dialogue at each run (from the operating system's
# randomness: the seeds set for training do not fix it); give it a number instead of `None`
# (e.g. 200) to look at that dialogue, checked against the size of the split. `summarize_one`
# is these steps for one dialogue (prompt → token ids → `generate` → text); the later cells reuse
# it. The tokenizer cuts a prompt at `max_source_length` tokens (`truncation=True`), silently: so
# we count them first.
#
# The decoding settings are one `GenerationConfig`: ours, plus the model's own token ids (where
# decoding starts and stops, the padding). Why not just keyword arguments to `generate`? Every
# setting we leave unset, `generate` takes from the model's `generation_config.json`, and a
# fine-tuned model's file may hold `no_repeat_ngram_size`, `min_length` or `repetition_penalty`:
# the summaries would change while our notes say "greedy". So the model's `generation_config`
# becomes ours (the package's `summarize` decodes with the same settings, for any model folder). ROUGE-1/2/L measure the overlap of words,
# word pairs and the longest common word sequence with the human summaries (0 = nothing in
# common, 1 = identical). A test dialogue has several human summaries (references); how the
# scores against them are combined is called the **protocol**. Here it is `"mean"`: the average
# over the dialogue's references. Section 8 shows why the protocol matters.

# %%
from transformers import GenerationConfig

from dialogsum_peft.dialogues import example_report, pick_index
from dialogsum_peft.evaluation import ZERO_SHOT

generation_config = GenerationConfig(
    max_new_tokens=config.max_new_tokens,  # at most this many summary tokens
    num_beams=config.num_beams,            # 1: greedy
    do_sample=False,
    # from the model's own file only its token ids:
    decoder_start_token_id=model.generation_config.decoder_start_token_id,
    bos_token_id=model.generation_config.bos_token_id,
    eos_token_id=model.generation_config.eos_token_id,
    pad_token_id=model.generation_config.pad_token_id,
)
model.generation_config = generation_config  # nothing left for generate to take from the file


def summarize_one(model, dialogue):
    """The model's summary of one dialogue: prompt -> token ids -> generate -> text."""
    inputs = tokenizer(build_prompt(dialogue), return_tensors="pt", truncation=True,
                       max_length=config.max_source_length).to(device)
    model.eval()  # dropout off: the Trainer may leave a model in training mode
    output_ids = model.generate(**inputs, generation_config=generation_config)
    return tokenizer.decode(output_ids[0], skip_special_tokens=True).strip()


index = pick_index(test, None)  # None: another random test dialogue at each run; or e.g. 200
n_tokens = len(tokenizer(build_prompt(test[index]["dialogue"]), verbose=False)["input_ids"])
print(f"the prompt is {n_tokens} tokens; the model reads "
      + (f"only the first {config.max_source_length}" if n_tokens > config.max_source_length
         else "all of them"))
zero_shot_before = summarize_one(model, test[index]["dialogue"])
print(example_report(test, index, {ZERO_SHOT: zero_shot_before}, smoke=config.is_smoke,
                     show_prompt=True))

# %% [markdown]
# ## 6. LoRA: train a small share of the parameters
#
# LoRA freezes every original weight. Next to some weight matrices `W` (here the attention's
# query `q` and value `v` projections, in every layer of encoder and decoder) it adds two small
# matrices `B·A` of **rank r**, so the layer computes `W·x + (alpha/r)·B·A·x`. Only `A` and `B`
# are trained. `B` starts at zero, so before training the LoRA model writes exactly what the base
# model writes. For flan-t5-base, r=32 on `q` and `v` gives **3,538,944 trainable parameters,
# about 1.4%** of the total.
#
# | `LoraConfig` argument | value | meaning |
# |---|---|---|
# | `r` | 32 | rank of the update: its size and capacity |
# | `lora_alpha` | 32 | scale of the update (`alpha/r` = 1) |
# | `target_modules` | `q`, `v` | which layers get an adapter |
# | `lora_dropout` | 0.05 | dropout on the adapter's input, against over-fitting |
# | `bias` | `"none"` | biases stay frozen (T5 has none anyway) |
# | `task_type` | `SEQ_2_SEQ_LM` | wrap the model as an encoder-decoder that generates |
#
# ⚠️ `get_peft_model` does not copy the model: it **replaces the `q` and `v` layers of `model`
# in place**. From now on `model` itself runs with the adapter, so it is no longer the zero-shot
# model. That is why we took the zero-shot summary above *before* this step, and why every later
# zero-shot output comes from the base model inside `peft_model` with the adapter switched off
# (`zero_shot_model(peft_model)`: `peft_model.get_base_model()` under
# `peft_model.disable_adapter()`; for prompt tuning, `disable_adapter()` alone would still put
# the trained virtual tokens before the input when generating).
# `A` starts random, so we seed it: the same settings always train the same adapter.

# %%
from peft import LoraConfig, TaskType, get_peft_model
from transformers import set_seed

lora_config = LoraConfig(
    r=config.lora_r,
    lora_alpha=config.lora_alpha,
    target_modules=list(config.lora_target_modules),
    lora_dropout=config.lora_dropout,
    bias="none",
    task_type=TaskType.SEQ_2_SEQ_LM,
)
set_seed(config.seed)
peft_model = get_peft_model(model, lora_config)
peft_model.print_trainable_parameters()
layer = type(model.encoder.block[0].layer[0].SelfAttention.q)
print(f"the first query layer of `model` is now a {layer.__module__}.{layer.__qualname__}")

# %% [markdown]
# *In smoke mode the share printed above is far larger than flan-t5-base's 1.4%.* The tiny random
# T5's layers are only 32 wide, as wide as the rank r=32: each adapter's `A` and `B` then hold
# twice as many numbers as the 32×32 weight they adapt. flan-t5-base's layers are 768 wide, so the
# same rank adds 32·(768+768) numbers to a 768×768 weight, and the adapters are 1.4% of that model.

# %% [markdown]
# ## 7. Training
#
# **Tokenize.** Each training example becomes the prompt's token ids (`input_ids`) and the
# summary's token ids as `labels` (`tokenizer(prompts, text_target=summaries)`), truncated to
# `max_source_length`/`max_target_length` tokens; a warning says how many were cut, another how
# many characters the tokenizer cannot encode (they become `<unk>`).

# %%
from dialogsum_peft.data import prepare_datasets

tokenized = prepare_datasets(ds, tokenizer, config)
example = tokenized["train"][0]
print(tokenized["train"])
print("input_ids[:12]:", example["input_ids"][:12])
print("labels, decoded:", tokenizer.decode(example["labels"]))

# %% [markdown]
# **Batches, settings, trainer.** `DataCollatorForSeq2Seq` pads each batch to its longest example;
# labels are padded with -100, which the loss ignores. `Seq2SeqTrainingArguments` holds the
# training settings, each taken from `config`. The ones written out are the lesson: how many
# examples per forward pass (`per_device_train_batch_size`) and how many passes are summed before
# each optimizer step (`gradient_accumulation_steps`; their product is the **effective batch**,
# 32 examples per step in every recipe, 8 in smoke mode's short schedule), the learning rate and its schedule (a linear warm-up,
# then a linear decay to zero), how long to train, the precision, and how often to log and to
# save. Precision is **bf16** on GPUs that have it and **fp32** otherwise (T4); never
# `fp16=True`: T5 overflows in fp16 and the loss becomes NaN. The rest (seeds, passing a NaN loss
# on to the guard instead of hiding it, CPU or GPU, no experiment tracker, speed settings) comes
# from one call, `housekeeping_arguments(config)`; the command line builds exactly the same
# arguments with `dialogsum_peft.trainer.training_arguments(config)`.
#
# `DialogSumTrainer` is `Seq2SeqTrainer` with three fixes. T5 already averages the loss over its
# batch, but the Trainer, seeing that the model accepts extra arguments, assumes a loss summed
# over all accumulated batches and scales it accordingly, so with gradient accumulation the
# gradients would come out the wrong size: the fix tells the Trainer the loss is already an
# average. Length-grouped batches come in a seeded order (an
# interrupted run resumes exactly). A guard stops at a NaN or exploding loss before a broken
# checkpoint is written.

# %%
from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainingArguments

from dialogsum_peft.trainer import DialogSumTrainer, housekeeping_arguments

data_collator = DataCollatorForSeq2Seq(
    tokenizer, model=peft_model, label_pad_token_id=-100,
    # GPU tensor cores like lengths that are multiples of 8
    pad_to_multiple_of=config.pad_to_multiple_of if device == "cuda" else None,
)
args = Seq2SeqTrainingArguments(
    output_dir=str(Path(config.output_dir) / "checkpoints"),
    per_device_train_batch_size=config.per_device_train_batch_size,
    gradient_accumulation_steps=config.gradient_accumulation_steps,  # effective batch = batch x this
    learning_rate=config.learning_rate,             # LoRA likes 10-100x a full fine-tuning rate
    lr_scheduler_type=config.lr_scheduler_type,     # "linear": decays to 0 after the warm-up
    warmup_steps=config.warmup_steps,               # below 1: a fraction of the steps
    max_steps=config.max_steps,                     # -1: train num_train_epochs instead
    num_train_epochs=config.num_train_epochs,
    weight_decay=config.weight_decay,
    optim=config.optim,
    bf16=config.precision == "bf16",                # otherwise fp32; never fp16 with T5
    logging_steps=config.logging_steps,             # log the loss every this many steps
    eval_strategy="steps",                          # the validation loss, a few times per run:
    eval_steps=config.eval_steps,                   # below 1: every such fraction of the steps
    per_device_eval_batch_size=config.per_device_train_batch_size,
    prediction_loss_only=True,                      # the loss only: no generation, no logits kept
    save_steps=config.save_steps,                   # a checkpoint every save_steps steps
    save_total_limit=config.save_total_limit,       # keep only the newest checkpoints
    **housekeeping_arguments(config),               # seeds, NaN logging, CPU/GPU, no tracker, speed
)
trainer = DialogSumTrainer(
    model=peft_model,
    args=args,
    data_collator=data_collator,
    train_dataset=tokenized["train"],
    eval_dataset=tokenized["validation"],           # summaries the model never trains on
    processing_class=tokenizer,
)

# %% [markdown]
# **Train.** The Trainer shows a progress bar and writes a checkpoint every `save_steps` steps.
# With `RESUME = True`, a rerun (say, after Colab disconnected) continues from the last complete
# checkpoint instead of starting over; a finished run whose last checkpoint is the final step is
# not trained again. The run's folder (`RunFolder`, the same object the command line's `train`
# uses) makes that decision in one call, `resume_or_start`: it finds the last complete checkpoint
# and checks that the folder's recorded settings are this run's (checkpoints written with other
# settings are refused, as on the command line); with `RESUME = False`, or nothing to resume, it
# deletes the old checkpoints and records this run's settings.

# %%
from dialogsum_peft.run_folder import RunFolder

# the last checkpoint of this same run, or None after clearing old checkpoints
last_checkpoint = RunFolder(config.output_dir).resume_or_start(config.identity(), resume=RESUME)
print(f"resuming from {last_checkpoint}" if last_checkpoint else "training from the start")
train_result = trainer.train(resume_from_checkpoint=last_checkpoint)
print(trainer.session_report(train_result))  # the steps and time of this session

# %% [markdown]
# **Reading the two curves.** The training loss is measured on the batches the model is learning
# from; the validation loss on the validation split, dialogues it never trains on (500 in full
# mode, the sample's few in smoke mode), five times per run, the last at its end (`eval_steps`
# 0.2: every fifth of the steps), forward passes only. Both should fall quickly, then flatten.
#
# * Validation loss rising while training loss keeps falling: **over-fitting**, the adapter
#   memorises the training summaries. Train fewer steps (or keep an earlier checkpoint).
# * Both still falling steeply at the end: **too few steps**; the `"thorough"` recipe trains
#   three times as long.
# * Validation a little above training is normal: the model has seen the training batches.
#
# Cost, in full mode with the quick recipe: five validation passes are about 2,500 forward passes
# against training's 8,000 examples of forward and backward (about three forward passes each), so
# roughly 10% more time: an **estimate** from FLOPs, not a measurement. This session's own cost is printed below (a rerun
# that resumes a finished run trains nothing and runs no validation pass, and says so).

# %%
from dialogsum_peft.reporting import dialogues_of, plot_loss_curve

trained_on = dialogues_of(config.dataset_source, len(tokenized["train"]), "train")
plot_loss_curve(trainer, title=f"LoRA training and validation loss, {config.model_name} on {trained_on}")
plt.show()
print(trainer.validation_report(train_result))  # this session's passes, against its time

# %% [markdown]
# ## 8. Evaluation: zero-shot against LoRA, on the same test dialogues
#
# First a sanity check of the metric on fake predictions: a summary scored against itself must
# get 1.0, and a bare string must be refused, because ROUGE over a string would compare its
# characters instead of its words (a classic slip that inflates scores).

# %%
from dialogsum_peft.evaluation import compute_rouge

reference = test[0]["summary"]
print("a reference against itself:", compute_rouge([reference], [reference]))
try:
    compute_rouge(reference, reference)
except ValueError as err:
    print("a string is refused:", err)

# %% [markdown]
# Both models summarize the **same** test dialogues with the same prompt and generation settings
# (greedy, in batches of similar length); the zero-shot model is the base inside `peft_model`,
# adapter switched off. `rouge_table` and the plot take these results and the protocol and
# compute the numbers they show themselves (and the smoke mark, from the model that wrote them),
# so a label cannot name a protocol the numbers were not computed under. Each summary is scored against **all** human references of its dialogue with
# word-level ROUGE (Google's `rouge_score`, Porter stemming).
# A warning says how many dialogues were longer than `max_source_length` (their ends are cut) or
# hold characters the tokenizer cannot encode; each result's `.inputs` keeps the counts.
#
#
# **Is the gain real?** The test dialogues are a sample, so each score comes with a **95%
# confidence interval** from a bootstrap: the dialogues are drawn again with replacement 1,000
# times (`scipy.stats.bootstrap`), and for the difference each draw is the same for both models
# (a *paired* bootstrap). An interval for a difference that contains 0 means this test set cannot
# tell the two models apart. On DialogSum's 500 test dialogues one model's ROUGE-1 is known to
# about ±1.2 points, and a difference between two independent summarizers to about ±1.4
# (measured on the human summaries, `benchmarks/interval_width.py`): a gain like LoRA's over
# zero-shot is resolved many times over, while a gap of 1.35 points (the course lab's full
# fine-tuning over LoRA) is at the edge and needs its own paired interval. Where no interval can
# be estimated (fewer than 10 dialogues, or no spread: every dialogue scores the same, as the
# smoke model's ROUGE-2 may), the table says "not estimable" and why, and the plot draws no error
# bar, instead of a zero-width "95%" interval.

# %%
from dialogsum_peft.evaluation import LORA, evaluate_zero_shot_and_lora, limit_split
from dialogsum_peft.reporting import (
    dialogues_of,
    plot_rouge_comparison,
    protocol_table,
    rouge_table,
)

eval_set = limit_split(test, config.eval_limit)
print("both models score", dialogues_of(config.dataset_source, len(eval_set)))
results = evaluate_zero_shot_and_lora(peft_model, tokenizer, eval_set, config)
rouge_table(results, baseline=ZERO_SHOT, improved=LORA, protocol="mean", intervals=True)

# %% [markdown]
# **Better on how many dialogues?** The table above gives the *average* gain. An average can
# hide a split: LoRA a little better on most dialogues, or much better on a third of them and
# worse on the rest. `win_table` counts, dialogue by dialogue, where LoRA's ROUGE-1 (protocol
# "mean", each dialogue scored against its own references) is higher than zero-shot's, equal,
# and lower. Each share comes with a 95% interval for a proportion (Wilson's, from
# `scipy.stats.binomtest`): for example, higher on 310 of DialogSum's 500 test dialogues (62%)
# would mean higher on about 58% to 66% of dialogues like them. A share of "higher" well above 50%
# says the gain is broad, not carried by a few dialogues; the "lower" dialogues are the ones
# worth reading (the largest losses are shown further down). `rouge_types="all"` adds
# ROUGE-2/L/Lsum.

# %%
from dialogsum_peft.reporting import win_table

win_table(results, baseline=ZERO_SHOT, improved=LORA, protocol="mean")

# %%
plot_rouge_comparison(results, title=f"ROUGE on {dialogues_of(config.dataset_source, len(eval_set))}",
                      protocol="mean")
plt.show()

# %% [markdown]
# ### Comparing with published numbers: same protocol or not at all
#
# A test dialogue has three human summaries, and papers and courses combine them differently:
#
# * **mean**: every (summary, reference) pair counts, averaged. This is what scoring the Hub's
#   test split row by row gives (it lists each dialogue once per reference): the course lab's
#   method, and our default above;
# * **best**: per dialogue, the reference that matches best (`rouge_score`'s `score_multi`): the
#   most flattering;
# * **first**: the first reference only, as in the DialogSum paper.
#
# The choice alone moves ROUGE-1 by about **7 points** between mean and best (the lab's own LoRA
# summaries: 0.408 mean, 0.479 best), more than many a method's improvement. So the table below
# puts each published figure only beside our rows of the same protocol, labelled as published.

# %%
protocol_table(results)

# %% [markdown]
# **Cross-check with 🤗 `evaluate`.** The same LoRA summaries scored by `evaluate.load("rouge")`,
# one row per (summary, reference) pair as the Hub's test split lists them, then averaged, must
# give our "mean" numbers. (`use_aggregator=False`: its default reports a bootstrap estimate, close
# to the mean but not equal to it. ROUGE-Lsum is left out here: it depends on how each summary is
# split into sentences, which `evaluate` leaves to its caller; the package splits with `pysbd`,
# and its tests check every ROUGE type against `rouge_score` itself.) The package does
# not depend on `evaluate`: it fetches its metric script from the Hub (so no offline or smoke
# runs), and scoring each pair once with `rouge_score` gives all three protocols from one pass.

# %%
import evaluate

try:  # evaluate.load fetches the metric's script from the Hub: smoke mode and offline runs skip
    rouge = None if config.is_smoke else evaluate.load("rouge")
except (OSError, ConnectionError):  # FileNotFoundError when the Hub cannot be reached
    rouge = None
if rouge is None:
    print("evaluate cross-check skipped: evaluate.load('rouge') fetches its metric script from the "
          "Hugging Face Hub, which this session does not reach (smoke mode or offline)")
else:
    pairs = zip(results[LORA].predictions, eval_set["references"])
    rows = [(pred, ref) for pred, refs in pairs for ref in refs]  # one row per reference
    per_row = rouge.compute(predictions=[p for p, _ in rows], references=[r for _, r in rows],
                            rouge_types=["rouge1", "rouge2", "rougeL"], use_stemmer=True,
                            use_aggregator=False)
    evaluate_mean = {k: sum(v) / len(v) for k, v in per_row.items()}
    ours = {k: v for k, v in results[LORA].by_protocol["mean"].items() if k in evaluate_mean}
    print(pd.DataFrame({"evaluate, row by row": evaluate_mean, "ours, protocol mean": ours}).round(4))
    print("agree:", all(abs(evaluate_mean[k] - v) < 1e-6 for k, v in ours.items()))

# %% [markdown]
# ### Where does LoRA help, and where does it fail?
#
# One average hides where the gain comes from. Below: ROUGE-1 of both models by the length of
# the prompt in tokens (dialogues over `max_source_length` are cut: the model never reads their
# end), and by topic; then the dialogues where LoRA scored furthest *below* zero-shot, side by
# side: reading them shows what fine-tuning changed (length, style, the facts kept). Every number
# is the corpus ROUGE of that subset under the "mean" protocol; small groups are noisy.

# %%
from IPython.display import display

from dialogsum_peft.dialogues import side_by_side
from dialogsum_peft.evaluation import largest_losses, rouge_by_length, rouge_by_topic
from dialogsum_peft.reporting import plot_rouge_by_length

# bins of each prompt's tokens before truncation, up to the max_source_length it was cut to
display(rouge_by_length(results, protocol="mean"))
plot_rouge_by_length(results, protocol="mean",
                     title=f"ROUGE by dialogue length, {dialogues_of(config.dataset_source, len(eval_set))}")
plt.show()
display(rouge_by_topic(results, eval_set["topic"]))
losses = largest_losses(results[ZERO_SHOT], results[LORA], k=3)
print("largest losses of LoRA against zero-shot (ROUGE-1):",
      ", ".join(f"dialogue {i}: {delta:+.3f}" for i, delta in losses) or "none")
side_by_side(eval_set, results, [i for i, _ in losses]) if losses else None

# %% [markdown]
# A sanity check of the comparison: the zero-shot summary of dialogue `index` written *before*
# LoRA was added must be the same as the one written now with the adapter disabled.

# %%
from dialogsum_peft.evaluation import zero_shot_and_lora_summaries

gen = config.generation_kwargs()
now = zero_shot_and_lora_summaries(peft_model, tokenizer, [test[index]["dialogue"]], **gen)
print("zero-shot before LoRA       :", zero_shot_before)
print("zero-shot, adapter disabled :", now[ZERO_SHOT][0])
print("zero-shot baseline identical:", now[ZERO_SHOT][0] == zero_shot_before)

# %% [markdown]
# Numbers are one thing; reading summaries is another. A few test dialogues side by side:

# %%
from dialogsum_peft.dialogues import side_by_side

picks = random.Random(SEED).sample(range(len(eval_set)), k=min(3, len(eval_set)))
side_by_side(eval_set, results, picks)

# %% [markdown]
# ## 9. Explore: run this cell again and again
#
# Each run picks another random test dialogue (or give `pick_index` a number instead of `None`)
# and shows the human summary, the zero-shot summary and the LoRA summary, each with its own
# ROUGE.

# %%
index = pick_index(test, None)  # None: another random test dialogue at each run; or e.g. 42
summaries = zero_shot_and_lora_summaries(peft_model, tokenizer, [test[index]["dialogue"]], **gen)
print(example_report(test, index, {name: s[0] for name, s in summaries.items()},
                     smoke=config.is_smoke))

# %% [markdown]
# ### Try it: your own dialogue
#
# Type or paste a dialogue (one turn per line, e.g. `#Person1#: Hello!`), or pick a test dialogue,
# and read the zero-shot summary (the adapter switched off) beside LoRA's. Under them the page says
# what of your dialogue the model does not see: the end of a dialogue longer than
# `max_source_length` tokens is cut, and characters the tokenizer cannot encode (`{`, `}`, most
# emoji) reach the model as `<unk>`. `try_it_app` builds a [gradio](https://www.gradio.app) page
# around `try_dialogue`, which writes the same summaries as `zero_shot_and_lora_summaries`, with
# the run's generation settings (`gen`, as above);
# `launch` serves it from this runtime and shows it under the cell. `share=False`: no public link,
# what you type stays between your browser and the runtime. Colab has gradio; without it
# (`pip install gradio`) there is no page. Above the page the cell prints the same comparison for
# one test dialogue (`index`, as in the example cell), which a saved copy of the notebook keeps.

# %%
from dialogsum_peft.dialogues import gradio_installed, try_it_app
from dialogsum_peft.evaluation import try_dialogue

# the comparison as a plain call, for one test dialogue: it stays readable in a saved notebook,
# where the page below is an empty frame once this runtime is gone
print(try_dialogue(peft_model, tokenizer, test[index]["dialogue"], **gen))
if gradio_installed():  # Colab has it; elsewhere: pip install gradio
    app = try_it_app(peft_model, tokenizer, examples=test[:3]["dialogue"], **gen)
    app.launch(share=False, quiet=True, prevent_thread_lock=True)  # served beside the notebook

# %% [markdown]
# ### What did it forget?
#
# Training on DialogSum taught the model to summarize dialogues. Did it cost anything elsewhere?
# Flan-T5 was instruction-tuned on many tasks, and fine-tuning can overwrite some of them
# (*catastrophic forgetting*). `data/forgetting/instructions.jsonl` holds 40 short instructions of
# such tasks, written for this project: sentiment, yes/no and factual questions, translations to
# German and French, arithmetic in words, each with its accepted answers
# ([how it was made](../data/forgetting/README.md)). `score_before_and_after` asks them of the
# zero-shot model (the adapter switched off) and of the LoRA model, each instruction as the whole
# input, without the summarization prompt, with the run's generation settings (answers cut at 32
# new tokens, the longest accepted one having 8 words, or at the run's `max_new_tokens` when it
# is smaller, as in smoke mode). An answer counts when it **equals** an accepted one
# once case, punctuation and spaces are normalized (*normalized exact match*; "contains the
# answer" would also credit an output that only repeats the question's options). 40 items know an
# accuracy to about ±0.15, so each comes with its 95% Wilson interval and the change with a paired
# bootstrap interval. The methods notebook asks the same of every method, full fine-tuning (which
# changes every weight) included.

# %%
from dialogsum_peft.forgetting import (
    answer_examples,
    forgetting_table,
    load_instructions,
    score_before_and_after,
)

instructions = load_instructions()  # data/forgetting/instructions.jsonl
before, after = score_before_and_after(peft_model, tokenizer, instructions, **gen)
display(forgetting_table({LORA: (before, after)}))
answer_examples(instructions, before, after)  # the forgotten ones first

# %% [markdown]
# ## 10. Save the adapter, load it again, merge it
#
# `peft_model.save_pretrained(folder)` saves only the LoRA weights (safetensors) and their
# `adapter_config.json`: megabytes instead of the whole model. The tokenizer goes beside them, so
# the folder is all that is needed to summarize later. `check_adapter_dir` then reads back what
# was written: a complete adapter whose weights are all finite numbers.
#
# `save_pretrained` also leaves an empty model card (`README.md`, peft's template).
# `write_model_card` replaces it with one that says what this adapter is: base model, data, the
# LoRA settings, the recipe, the device and library versions, the ROUGE results of section 8
# under their protocol with 95% intervals beside the zero-shot row, and what it is for and not
# for. It is written with `huggingface_hub`'s `ModelCard` and `ModelCardData`, so the Hub reads
# its metadata (`ModelCard.load(adapter_dir / "README.md").data`); in smoke mode its first line
# says the model is an untrained toy.

# %%
from huggingface_hub import ModelCard

from dialogsum_peft.adapters import adapter_size_mb, check_adapter_dir
from dialogsum_peft.sharing import write_model_card

adapter_dir = Path(config.output_dir) / "adapter"
peft_model.save_pretrained(adapter_dir)
tokenizer.save_pretrained(adapter_dir)
check_adapter_dir(adapter_dir)  # raises, saying why, if the folder is not a sound adapter
card_path = write_model_card(adapter_dir, config, results[LORA], results[ZERO_SHOT],
                             steps=trainer.state.global_step)  # the results of section 8
print("adapter saved to", adapter_dir, "->", sorted(p.name for p in adapter_dir.iterdir()))
card = ModelCard.load(card_path)  # as the Hub reads it: metadata + text
print(f"model card {card_path}: {card.data.library_name}, {card.data.model_name}, tags "
      f"{card.data.tags}\n{card.text.strip().splitlines()[0]}")

# %% [markdown]
# To use the adapter later (in another session, on another machine), load a **fresh** base model
# and attach the adapter with `PeftModel.from_pretrained`. `check_adapter_fits` first makes sure the
# folder holds a complete adapter with finite weights, made with this base's vocabulary, and
# trained on this very base model: an adapter of another base, or one whose shapes cannot fit,
# is refused, naming both. The reloaded model must write exactly the same summary as the model we
# trained.

# %%
from peft import PeftModel

from dialogsum_peft.adapters import check_adapter_fits

fresh_base = AutoModelForSeq2SeqLM.from_pretrained(
    model_path, dtype=config.torch_dtype, attn_implementation=config.attn_implementation,
    use_safetensors=True,
).to(device)
reloaded = PeftModel.from_pretrained(fresh_base, check_adapter_fits(adapter_dir, fresh_base, tokenizer))

dialogue = test[index]["dialogue"]
lora_summary = summarize_one(peft_model, dialogue)  # generate, as in the zero-shot cell
reloaded_summary = summarize_one(reloaded, dialogue)
print("LoRA model :", lora_summary)
print("reloaded   :", reloaded_summary)
print("reloaded adapter identical:", reloaded_summary == lora_summary)

# %% [markdown]
# **Merge.** `merge_and_unload` adds `(alpha/r)·B·A` into `W` once and returns a plain
# transformers model: no adapter overhead at inference, but again a full-size model. (In bf16 the
# rounding of the merged weights may change a word here and there.) `get_memory_footprint()` is
# the size of its weights in memory, in bytes.

# %%
merged = reloaded.merge_and_unload()
merged_summary = summarize_one(merged, dialogue)
print(type(merged).__name__, "| merged summary:", merged_summary)
print("merged model identical:", merged_summary == lora_summary)
print(f"adapter file: {adapter_size_mb(adapter_dir):.1f} MB | merged model in memory: "
      f"{merged.get_memory_footprint() / 1e6:,.1f} MB")

# %% [markdown]
# **Optional: share it on the Hugging Face Hub.** Set `PUSH_TO_HUB = True` and run the cell:
# `push_adapter` sends the adapter, its tokenizer and its card to a **private** repository
# `<your user name>/<the card's model name>` (or `HUB_REPO_ID`). It needs a login: without
# one the cell opens the login box (`notebook_login`); log in there, then run the cell again.
# In Colab a secret named `HF_TOKEN` (the key icon) logs you in too. Never paste a token into a
# cell. With `PUSH_TO_HUB = False` the cell only says what it would push; the smoke mode's toy
# adapter is never pushed.

# %%
PUSH_TO_HUB = False  # True: push the adapter, tokenizer and card to the Hub (private)
HUB_REPO_ID = None   # None: "<your user name>/<the card's model name>"

from huggingface_hub import get_token, notebook_login

from dialogsum_peft.sharing import push_adapter

if not PUSH_TO_HUB:
    print(push_adapter(adapter_dir, HUB_REPO_ID, dry_run=True))
    print("PUSH_TO_HUB is False: nothing was sent")
elif get_token() is None:  # no HF_TOKEN, Colab secret or saved login
    notebook_login()
    print("not logged in to the Hugging Face Hub: log in in the box above, then run this cell again")
else:
    print(push_adapter(adapter_dir, HUB_REPO_ID, private=True))

# %% [markdown]
# ## 11. What next?
#
# * **Recipe**: `RECIPE = "thorough"` trains 2 epochs instead of 2/3 of one (in full mode).
# * **Rank** `lora_r` (8, 16, 64): smaller adapters or more capacity. Keep `lora_alpha` near `r`.
# * **Target modules**: add `"k"`, `"o"`, or the feed-forward layers `"wi_0"`, `"wi_1"`, `"wo"`:
#   more trainable parameters, often a little better.
# * Change any setting in the configuration cell, on a line after `config = notebook_config(...)`,
#   e.g. `config.lora_r = 16`, and set `RESUME = False` there (checkpoints written with other
#   settings are refused).
#
# For longer runs, a bigger Flan-T5 or several GPUs, the same pipeline runs from the command line:
#
# ```bash
# python -m dialogsum_peft train --help
# ```

# %% [markdown]
# ## 12. Use it: export, then summarize your own dialogues
#
# Outside this notebook you want one folder that loads alone, and summaries fast on whatever
# machine you have. That is the command line's job (`python -m dialogsum_peft`, the same package):
# `export` merges the adapter into a fresh base (`merge_and_unload`, as above) and saves it; with
# the optional CTranslate2 engine (`pip install ".[serve]"`) it also converts it: on 2 CPU cores
# that generated about twice as many dialogues per second as PyTorch `generate` (the measured
# table: [docs/inference.md](../docs/inference.md)). In float32 both give the same summaries.
# Without ctranslate2 the cell exports the merged transformers model. `summarize` then reads your
# dialogues from a file (plain text, one blank line between dialogues, or JSON lines). The cell
# runs the two commands exactly as you would in a terminal (`config.json` holds this run's
# settings, so the command line uses the same base model and generation settings).

# %%
import importlib.util
import shlex


def dialogsum_peft(*args):
    """Run `python -m dialogsum_peft ARGS` as in a terminal; print the command and its output
    (captured, not a terminal: the command draws no progress bars, only lines)."""
    print("$ python -m dialogsum_peft", shlex.join(args))
    done = subprocess.run([sys.executable, "-m", "dialogsum_peft", *args], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    print(done.stdout.strip())


run_dir = Path(config.output_dir)
config.save(run_dir / "config.json")  # this run's settings, for --config
fmt = "ctranslate2" if importlib.util.find_spec("ctranslate2") else "merged"
export_dir = run_dir / f"export-{fmt}"  # this notebook's own export folder: a rerun replaces it
dialogsum_peft("export", "--config", str(run_dir / "config.json"), "--adapter", str(adapter_dir),
               "--to", str(export_dir), "--format", fmt, "--overwrite")

my_dialogue = """#Person1#: Did you book the tables for Friday's team dinner?
#Person2#: Not yet. The Italian place is full, so I was going to try the Thai restaurant.
#Person1#: Good idea. There will be twelve of us, and Sam doesn't eat meat.
#Person2#: I'll ask for a table for twelve at seven and check their vegetarian menu."""
(run_dir / "my_dialogues.txt").write_text(my_dialogue + "\n", encoding="utf-8")
dialogsum_peft("summarize", "--config", str(run_dir / "config.json"),
               "--backend", "ctranslate2" if fmt == "ctranslate2" else "transformers",
               "--adapter", str(export_dir), "--input", str(run_dir / "my_dialogues.txt"))
