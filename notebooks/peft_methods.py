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
# # Which fine-tuning method? LoRA against full fine-tuning, IA3 and prompt tuning
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dialogsum-peft/dialogsum_peft/blob/main/notebooks/peft_methods.ipynb)
#
# The first notebook (`dialogsum_lora.ipynb`) taught **google/flan-t5-base** to summarize
# **DialogSum** dialogues with LoRA. Was LoRA the right choice? Here the same model learns the same
# task five ways, on the same training data, with the same prompt, the same training schedule
# (the same *recipe*, section 2) and the same test dialogues, and each is compared with the
# zero-shot model and with the others:
#
# | method | what is trained | trainable parameters on flan-t5-base | saved file |
# |---|---|---|---|
# | LoRA r=32 on `q`, `v` (the first notebook) | two rank-32 matrices beside each attention query and value projection | 3,538,944 (1.41%) | 14.2 MB adapter |
# | LoRA r=16 on every linear layer | rank-16 matrices beside `q`, `k`, `v`, `o`, `wi_0`, `wi_1`, `wo` | 6,782,976 (2.67%) | 27.2 MB adapter |
# | IA3 | one vector per layer that rescales keys, values and feed-forward activations | 104,448 (0.04%) | 0.43 MB adapter |
# | prompt tuning | 20 "virtual token" embeddings put before the input | 30,720 (0.01%) | 0.12 MB adapter |
# | full fine-tuning | every weight | 247,577,856 (100%) | 990 MB model (fp32; 495 MB in bf16) |
#
# *Counts and sizes are measured on flan-t5-base's exact shape with `benchmarks/methods.py`
# (`benchmarks/results/methods-cpu-20261127.json`); this notebook measures them again for the
# model it trains, together with training speed, peak GPU memory and ROUGE.*
#
# **What you will learn**
#
# * how `LoraConfig`, `IA3Config` and `PromptTuningConfig` describe three different ways of
#   training a few parameters, and how one call, `get_peft_model`, applies any of them;
# * why each method gets its own learning rate;
# * what full fine-tuning costs in memory, estimated from bytes per parameter, and what fits a
#   free Colab T4;
# * how to compare methods fairly: one table of cost (trainable parameters, size on disk, GPU
#   memory, time) and quality (ROUGE under one named *protocol*: the way the scores against a
#   dialogue's several human summaries are combined), and two plots.
#
# **Runtime**: on a free Colab T4, the five trainings and six evaluations take about 1–2.5 hours,
# an **estimate** (five times the first notebook's estimated 10–25 minutes for one LoRA run), not
# a measurement; `EVAL_SIZE = 100` saves a good part of it (basis:
# [docs/notebook.md](../docs/notebook.md), methods: [docs/methods.md](../docs/methods.md)).

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
# Which libraries and which accelerator do we have? Five trainings of flan-t5-base need a
# **GPU**: in Colab choose **Runtime → Change runtime type → GPU** (a T4 is free).

# %%
# %matplotlib inline
import warnings

import matplotlib.pyplot as plt
import pandas as pd
import torch

from dialogsum_peft.notebook_setup import environment_report

pd.set_option("display.max_colwidth", None)  # show whole summaries in tables
# peft 0.21 reads a model property that transformers 5.2x deprecated when `get_peft_model` or
# `PeftModel.from_pretrained` wraps a model: a FutureWarning no one running this notebook can
# act on (the helper package silences it around its own calls only)
warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated", FutureWarning)
print(environment_report())

# %% [markdown]
# ## 2. Configuration: the only cell with knobs
#
# * `MODE`: `"full"` trains google/flan-t5-base on DialogSum from the Hugging Face Hub;
#   `"smoke"` runs offline with a **tiny randomly initialised T5** on the sample shipped with the
#   repository, a few steps per method: it proves every cell runs, but its summaries are
#   gibberish and its scores meaningless (every table and plot says so); `"auto"` (default) is
#   full when the Hub answers or `MODEL` and `DATA` are local folders, smoke otherwise. The
#   environment variable `DIALOGSUM_MODE` wins.
# * `RECIPE`: a **recipe** is a fixed training schedule (how long to train, the effective
#   batch: the examples per optimizer step, batch × accumulated batches, and each method's
#   learning rate). `"quick"` (250 steps of 32 examples) or `"thorough"` (2 epochs), **the same
#   for every method**: only the method's own settings (which weights train, its learning rate,
#   full fine-tuning's optimizer) differ. `RECIPE` applies in full mode; smoke mode trains its
#   own short schedule (below) and says so; a misspelt recipe is an error in both modes.
# * `EVAL_SIZE`: how many test dialogues to score (`None` = all of them: 500 in full mode); every
#   method is scored on the same ones.
# * `MODEL`, `DATA`: `None` loads them from the Hub; local folders work offline, as in the first
#   notebook (smoke mode refuses them rather than drop them).

# %% tags=["parameters"]
MODE = "auto"      # "full" | "smoke" | "auto" (the environment variable DIALOGSUM_MODE wins)
RECIPE = "quick"   # "quick" (250 steps x 32 examples) | "thorough" (2 epochs), for every method
EVAL_SIZE = None   # test dialogues to score; None = all of them (500 in full mode)
SEED = 42
MODEL = DATA = None  # None: the Hub's; or local folders (DIALOGSUM_MODEL / DIALOGSUM_DATA win)

# %% [markdown]
# One `TrainConfig` per method, each in its own folder, from `notebook_config` (as in the first
# notebook): in full mode `TrainConfig.auto(recipe=..., method=...)` takes the recipe as it is,
# chooses the precision and the split of the batch for this GPU, and applies the method's learning
# rate in the recipe (`dialogsum_peft.recipes.LEARNING_RATES`) and its own settings
# (`dialogsum_peft.settings.METHOD_SETTINGS`); in smoke mode each method trains 4 steps of 4
# examples and scores 4 test dialogues: seconds per method. The
# table shows the settings worth comparing, one column per method, "—" where a method has no
# such setting (IA3 and prompt tuning have no rank; IA3 rescales the `k`, `v` and `wo` layers).
# This cell is the only one that deals with the mode: results carry their own smoke marks.

# %%
from dialogsum_peft.notebook_setup import notebook_config, settings_table

METHODS = ("lora", "lora-all", "ia3", "prompt-tuning", "full")  # compared below, in this order
SMOKE_SCHEDULE = dict(max_steps=4, per_device_train_batch_size=4, logging_steps=2,
                      eval_limit=EVAL_SIZE or 4)  # smoke mode: the tiny T5, seconds per method


def method_config(method, announce=False):
    """The run's settings for one method, writing to its own folder of outputs/peft-methods-*."""
    return notebook_config(MODE, RECIPE, EVAL_SIZE, SEED, method=method, model=MODEL, data=DATA,
                           run_name="peft-methods-{recipe}", subfolder=method,
                           smoke_schedule=SMOKE_SCHEDULE, announce=announce)


configs = {method: method_config(method, announce=method == "lora") for method in METHODS}
# change a method's settings here (see "What next"), e.g. configs["lora"].lora_r = 8
settings_table(configs)  # "—": the method has no such setting

# %% [markdown]
# ## 3. The data, the tokenizer and a loader for fresh base models
#
# DialogSum's test dialogues each have three human summaries; the loader groups them into one row
# with all its `references`. Every method trains on the same tokenized training split (the
# instruction prompt + dialogue as input, the summary as labels) and is scored on the same
# `eval_set`.
#
# Each method must start from the **untouched pre-trained weights**: `get_peft_model` changes the
# model it gets in place, and full fine-tuning changes every weight. So `load_base()` loads a fresh
# copy for each method (from the local cache after the first download), in bf16 on GPUs that
# support it and fp32 otherwise, never fp16 (T5 overflows in it).

# %%
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

from dialogsum_peft.data import build_prompt, load_dialogsum, prepare_datasets
from dialogsum_peft.evaluation import limit_split

shared = configs["lora"]  # data, prompt, lengths and generation settings are the same for all
device = "cuda" if torch.cuda.is_available() else "cpu"
model_path = shared.model_path  # the Hub id or your folder; smoke: the tiny T5's folder
tokenizer = AutoTokenizer.from_pretrained(model_path)
ds = load_dialogsum(shared.dataset_source)
eval_set = limit_split(ds["test"], shared.eval_limit)
tokenized = prepare_datasets(ds, tokenizer, shared)


def load_base(config):
    """A fresh copy of the pre-trained model, in the run's precision, on the GPU if there is one."""
    return AutoModelForSeq2SeqLM.from_pretrained(
        model_path, dtype=config.torch_dtype, attn_implementation=config.attn_implementation,
        use_safetensors=True,
    ).to(device)


print(f"training examples: {len(tokenized['train'])}, test dialogues to score: {len(eval_set)}")
print("every model reads prompts like this:\n" + build_prompt(ds["train"][0]["dialogue"])[:300], "…")

# %% [markdown]
# ## 4. The baseline: zero-shot
#
# The pre-trained model as it is, scored on the test dialogues: each method has to beat this.
# `evaluate_model` writes the summaries in batches (greedy, the same generation settings for
# every model) and scores each one against all of its dialogue's human summaries.

# %%
from dialogsum_peft.comparison import zero_shot_run
from dialogsum_peft.evaluation import ZERO_SHOT, evaluate_model

base = load_base(shared)
runs = {ZERO_SHOT: zero_shot_run(base, evaluate_model(
    base, tokenizer, eval_set, desc=ZERO_SHOT, **shared.generation_kwargs()))}
del base
scores = runs[ZERO_SHOT].evaluation.by_protocol["mean"]
print("zero-shot ROUGE (protocol mean):", {k: round(v, 4) for k, v in scores.items()})

# %% [markdown]
# ## 5. One training function for every method
#
# Whatever the method, training is the same: a fresh base model, the method applied with
# **`get_peft_model(model, method_config)`** (for full fine-tuning: no peft config, every weight
# stays trainable), then the same `DialogSumTrainer` (the first notebook's `Seq2SeqTrainer` with
# its three fixes) with `Seq2SeqTrainingArguments` from `training_arguments(config)`: exactly the
# arguments the first notebook writes out, from the method's config. Then the function saves what
# the method needs to keep with `save_pretrained` (the adapter, or the whole model), scores the
# model on the same test dialogues, and `MethodRun.measure` records what it cost.
#
# What is measured, per method:
#
# * trainable parameters and their share of the total (`print_trainable_parameters()` prints
#   peft's count; full fine-tuning counts every weight);
# * the size of the saved weights file, in MB;
# * the peak GPU memory of training (`torch.cuda.max_memory_allocated`, from the loaded model
#   onwards): `None` on a CPU, where it is not measured;
# * the training examples processed per second (counted batch by batch, not the Trainer's
#   nominal `train_samples_per_second`) and the wall time (the whole run, first steps included);
# * ROUGE of the summaries (the `EvalResult` keeps every protocol).
#
# Checkpoints are switched off here (`save_strategy="no"`): writing a 1 GB full model (and its
# optimizer state) every 50 steps would count in full fine-tuning's time for a reason that has
# nothing to do with training. The command line trains any method with checkpoints and resume:
# `python -m dialogsum_peft train --method ia3` (`--help` lists the methods).

# %%
import gc

from peft import get_peft_model
from transformers import set_seed

from dialogsum_peft.comparison import MethodRun
from dialogsum_peft.forgetting import load_instructions, score_instructions
from dialogsum_peft.trainer import DialogSumTrainer, data_collator, training_arguments

instructions = load_instructions()  # section 11: what each method made the model forget
forgetting = {}  # method -> (its instruction scores before training, after)


def train_and_evaluate(method, method_config):
    """Train ``method`` (its peft config, or None for full fine-tuning) and measure it."""
    config = configs[method]
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()  # free the previous method's model and optimizer
    model = load_base(config)
    gen = config.generation_kwargs()
    before = score_instructions(model, tokenizer, instructions, **gen)  # the base, before training
    set_seed(config.seed)  # the same initialisation of the new weights on every run
    print(f"{method}:", end=" ")
    if method_config is None:
        tuned = model.requires_grad_(True)  # full fine-tuning: every weight trains
        print(f"trainable params: {tuned.num_parameters(only_trainable=True):,} (all of them)")
    else:
        tuned = get_peft_model(model, method_config)
        tuned.print_trainable_parameters()
    trainer = DialogSumTrainer(
        model=tuned,
        args=training_arguments(config, save_strategy="no"),  # no checkpoints: see above
        data_collator=data_collator(tokenizer, tuned, config),
        train_dataset=tokenized["train"],
        eval_dataset=tokenized["validation"],  # the validation loss, as in the first notebook
        processing_class=tokenizer,
    )
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    metrics = trainer.train().metrics
    peak_gib = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
    saved = Path(config.output_dir) / ("model" if method_config is None else "adapter")
    tuned.save_pretrained(saved)  # an adapter: only its own weights; full: the whole model
    tokenizer.save_pretrained(saved)
    evaluation = evaluate_model(tuned, tokenizer, eval_set, desc=method, **gen)
    run = MethodRun.measure(method, method_config, tuned, evaluation, saved, metrics, peak_gib)
    forgetting[method] = (before, score_instructions(tuned, tokenizer, instructions, **gen))
    print(f"saved {saved.name}/ ({run.saved_mb:.2f} MB of weights); "
          f"ROUGE-1 (protocol mean) {evaluation.by_protocol['mean']['rouge1']:.4f}")
    return run


# %% [markdown]
# ## 6. LoRA r=32 on `q` and `v` (the first notebook's method)
#
# LoRA freezes every weight `W` and adds beside some of them two small matrices `B·A` of rank
# `r`; the layer computes `W·x + (alpha/r)·B·A·x`, and only `A` and `B` train. `B` starts at zero,
# so training starts from the zero-shot model. Learning rate **1e-3** (peft's seq2seq LoRA
# examples): the adapter starts as a no-op and has to grow, which takes a rate 10-100 times a
# full fine-tuning rate.
#
# | `LoraConfig` argument | value | meaning |
# |---|---|---|
# | `r` | 32 | rank of the update: its size and capacity |
# | `lora_alpha` | 32 | scale of the update (`alpha/r` = 1) |
# | `target_modules` | `q`, `v` | the attention's query and value projections, in every layer |
# | `lora_dropout` | 0.05 | dropout on the adapter's input |
# | `task_type` | `SEQ_2_SEQ_LM` | wrap the model as an encoder-decoder that generates |

# %%
from peft import LoraConfig, TaskType

lora = configs["lora"]
lora_config = LoraConfig(
    r=lora.lora_r,
    lora_alpha=lora.lora_alpha,
    target_modules=list(lora.lora_target_modules),
    lora_dropout=lora.lora_dropout,
    bias="none",
    task_type=TaskType.SEQ_2_SEQ_LM,
)

# %%
runs["lora"] = train_and_evaluate("lora", lora_config)

# %% [markdown]
# ## 7. LoRA r=16 on every linear layer
#
# The same `LoraConfig`, but adapters beside **all seven** linear layers of each T5 block: the
# attention's `q`, `k`, `v`, `o` and the feed-forward's `wi_0`, `wi_1`, `wo`. At half the rank
# that is still about twice the trainable parameters of r=32 on `q`, `v`. The LoRA paper found
# it better to adapt more kinds of weight matrices at a lower rank than one kind at a higher
# rank, and QLoRA needed adapters on every linear layer to match full fine-tuning; here you see
# what it does on DialogSum. Same learning rate (1e-3), `lora_alpha` = `r`.

# %%
lora_all = configs["lora-all"]
lora_all_config = LoraConfig(
    r=lora_all.lora_r,
    lora_alpha=lora_all.lora_alpha,
    target_modules=list(lora_all.lora_target_modules),  # q, k, v, o, wi_0, wi_1, wo
    lora_dropout=lora_all.lora_dropout,
    bias="none",
    task_type=TaskType.SEQ_2_SEQ_LM,
)

# %%
runs["lora-all"] = train_and_evaluate("lora-all", lora_all_config)

# %% [markdown]
# ## 8. IA3: rescale, don't add
#
# IA3 ("Infused Adapter by Inhibiting and Amplifying Inner Activations", Liu et al. 2022) trains
# one **vector** per targeted layer and multiplies activations by it element-wise: the attention's
# keys (`k`) and values (`v`), and the input of the feed-forward's output layer (`wo`). The
# vectors start at 1, so training starts from the zero-shot model, as with LoRA. That is
# 104,448 parameters on flan-t5-base, 34 times fewer than LoRA r=32. Learning rate **3e-3**
# (the IA3 paper's): a few scale factors need a larger step than LoRA's matrices.
#
# | `IA3Config` argument | value | meaning |
# |---|---|---|
# | `target_modules` | `k`, `v`, `wo` | the layers whose activations get a learned scale |
# | `feedforward_modules` | `wo` | for these, scale the layer's **input** (the feed-forward's hidden activations), not its output |
# | `task_type` | `SEQ_2_SEQ_LM` | as for LoRA |

# %%
from peft import IA3Config

ia3_config = IA3Config(
    task_type=TaskType.SEQ_2_SEQ_LM,
    target_modules=["k", "v", "wo"],  # peft's default for T5
    feedforward_modules=["wo"],
)

# %%
runs["ia3"] = train_and_evaluate("ia3", ia3_config)

# %% [markdown]
# ## 9. Prompt tuning: train the prompt, not the model
#
# Prompt tuning (Lester et al. 2021) leaves every weight of the model alone and trains
# `num_virtual_tokens` **input embeddings** that are put before the embedded prompt ("soft
# prompt"); for an encoder-decoder peft puts a set before the encoder's and the decoder's input,
# so 2 × 20 × 768 = 30,720 parameters on flan-t5-base. They start as the embeddings of the
# instruction's own words (`PromptTuningInit.TEXT` with `prompt_tuning_init_text`), a better start
# than random vectors.
#
# **Learning rate 3e-2**, 30 times LoRA's: the 20 vectors must move far from the word embeddings
# they start as, and only their gradient moves them (peft's prompt-tuning example uses 3e-2;
# Lester et al. used 0.3 with Adafactor). Expect it to trail LoRA here: Lester et al. found that
# prompt tuning catches up with full fine-tuning only for models of about 10B parameters, 40
# times flan-t5-base.
#
# | `PromptTuningConfig` argument | value | meaning |
# |---|---|---|
# | `num_virtual_tokens` | 20 | trained input embeddings (per encoder and decoder) |
# | `prompt_tuning_init` | `TEXT` | start from the embeddings of a text… |
# | `prompt_tuning_init_text` | "Summarize the following conversation." | …this one, the instruction |
# | `tokenizer_name_or_path` | the base model | the tokenizer that turns that text into embeddings |

# %%
from peft import PromptTuningConfig, PromptTuningInit

prompt_tuning = configs["prompt-tuning"]
prompt_tuning_config = PromptTuningConfig(
    task_type=TaskType.SEQ_2_SEQ_LM,
    num_virtual_tokens=prompt_tuning.num_virtual_tokens,
    prompt_tuning_init=PromptTuningInit.TEXT,
    prompt_tuning_init_text=prompt_tuning.prompt_init_text,
    tokenizer_name_or_path=model_path,
)

# %%
runs["prompt-tuning"] = train_and_evaluate("prompt-tuning", prompt_tuning_config)

# %% [markdown]
# ## 10. Full fine-tuning: every weight
#
# No peft config: all 247,577,856 weights train, and what must be kept is a whole new model
# (990 MB in fp32, 495 MB in bf16) per task instead of a small adapter beside one shared base.
# Learning rate **3e-4**: every pre-trained weight moves a little, so a tenth of LoRA's rate. The
# optimizer is **Adafactor**: AdamW keeps two extra numbers per trained weight, Adafactor (as the
# Trainer sets it up) none, only a row and a column vector per matrix. Precision: **bf16** on GPUs
# that support it (A100, L4, H100), **fp32** on a T4.
#
# **Does it fit a free T4?** An **estimate** from bytes per parameter, not a measurement: every
# weight costs 4 bytes in fp32 (2 in bf16); every trained weight also its gradient and the
# optimizer's moments. Activations come on top and depend on batch and lengths far more than on
# the method: for them the estimate takes the one peak measured for this project on the T4's
# settings, LoRA in fp32 at batch 8 with every example at the 512/128-token limits (9.1 GiB,
# measured on an H200: `benchmarks/README.md`), less LoRA's own weights and states.

# %%
from dialogsum_peft.comparison import flan_t5_base_parameters, memory_estimate

with_lora = flan_t5_base_parameters(configs["lora"])  # on the meta device: allocates nothing
total, lora_trainable = with_lora.total - with_lora.trainable, with_lora.trainable
lora_setup = (with_lora.total, lora_trainable, "fp32", "adamw")
LORA_T4_PEAK_GIB = 9.1  # measured: Colab T4 settings, worst-case lengths (benchmarks/README.md)
activations_gib = (LORA_T4_PEAK_GIB
                   - memory_estimate({"LoRA": lora_setup}).loc["LoRA", "before activations GiB"])
memory_estimate({
    "full fine-tuning, fp32, AdamW": (total, total, "fp32", "adamw"),
    "full fine-tuning, fp32, Adafactor (this notebook on a T4)": (total, total, "fp32", "adafactor"),
    "full fine-tuning, bf16, Adafactor (this notebook on A100/L4/H100)": (total, total, "bf16", "adafactor"),
    "LoRA r=32 on q, v, fp32, AdamW (the first notebook on a T4)": lora_setup,
}, activations_gib=activations_gib)

# %% [markdown]
# So by this estimate full fine-tuning of flan-t5-base **fits** a T4 (15 GiB) at the notebook's
# batch of 8, in fp32, even with AdamW; Adafactor leaves about 2 GiB more room. What does **not**
# fit, by the same arithmetic: full fine-tuning of **flan-t5-large** (783,150,080 parameters) in
# fp32 with AdamW needs 11.7 GiB for weights, gradients and moments before a single activation,
# and its activations are larger than base's; **flan-t5-xl** (2,849,757,184 parameters) needs
# 10.6 GiB for its fp32 weights alone, so on a T4 even LoRA would need a smaller batch or
# gradient checkpointing, and full fine-tuning is out of reach (42 GiB with AdamW).

# %%
runs["full"] = train_and_evaluate("full", None)  # no peft config: every weight trains

# %% [markdown]
# ## 11. Side by side
#
# One row per method, all on the same test dialogues. ROUGE is the corpus F-measure under the
# **mean** protocol (every summary against each of its dialogue's references, averaged: the
# course lab's way); "n/a" marks what does not apply to the zero-shot model, "not measured" what
# this runtime cannot measure (GPU memory on a CPU). The next-to-last column is each method's ROUGE-1
# minus LoRA's with a 95% interval from a paired bootstrap (the test dialogues drawn again 1,000
# times, the same draw for both methods): an interval that contains 0 means this test set cannot
# tell that method from LoRA; "not estimable" says why there is none (fewer than 10 dialogues, as
# in smoke mode, or no spread). On DialogSum's 500 test dialogues a difference needs to be above
# roughly 1–1.5 ROUGE-1 points to be resolved (`benchmarks/interval_width.py`); the course lab's full
# fine-tuning over LoRA gap is 1.35. In smoke mode the trainable shares are far larger than the
# figures at the top: the tiny T5's layers are only 32 wide, so an adapter of rank 32 (or 16) is
# as large as the weight it adapts, while flan-t5-base's layers are 768 wide.
#
# The last column counts dialogues instead of averaging them: the share of test dialogues on
# which each method's ROUGE-1 is higher than zero-shot's, equal and lower, with a 95% interval
# for the first (Wilson's interval for a proportion). Two methods with the same average can
# differ here: one better on nearly every dialogue, the other much better on some and worse on
# many (the tutorial's section 8 says more).

# %%
from dialogsum_peft.comparison import comparison_table

comparison_table(runs, protocol="mean")

# %% [markdown]
# The same summaries under the other multi-reference protocols ("best": the best-matching
# reference, "first": the first one), with published figures beside the rows of their own
# protocol only, labelled as published: the course lab reports ROUGE-1 **0.4216** for full
# fine-tuning and **0.4081** for LoRA under "mean". They come from another training run, and the
# lab's recipe is not ours.

# %%
from dialogsum_peft.reporting import protocol_table

protocol_table({name: run.evaluation for name, run in runs.items()})

# %% [markdown]
# **Quality against size.** ROUGE-1 against the number of trainable parameters, on a log scale
# (they span four orders of magnitude). The solid line is our zero-shot model; dashed lines are
# the course lab's published figures (same protocol), not ours.

# %%
from dialogsum_peft.comparison import plot_peak_memory, plot_rouge_vs_parameters
from dialogsum_peft.reporting import dialogues_of

note = f"{dialogues_of(shared.dataset_source, len(eval_set))}, recipe {shared.recipe!r}"
plot_rouge_vs_parameters(runs, published="course lab", protocol="mean", note=note)
plt.show()

# %% [markdown]
# **Memory.** The peak GPU memory of each training run, at this card's batch. It is measured on a
# GPU only; on a CPU the plot says so instead of showing bars.

# %%
plot_peak_memory(runs, note=f"per-device batch {shared.per_device_train_batch_size}, "
                 f"precision {shared.precision}")
plt.show()

# %% [markdown]
# Reading summaries says more than a score. A few test dialogues, with every model's summary:

# %%
import random

from dialogsum_peft.dialogues import side_by_side

picks = random.Random(SEED).sample(range(len(eval_set)), k=min(2, len(eval_set)))
side_by_side(eval_set, {name: run.evaluation for name, run in runs.items()}, picks)

# %% [markdown]
# ### What did each method forget?
#
# Each model also answered the first notebook's 40 short instructions outside dialogue
# summarization (sentiment, yes/no and factual questions, translations, arithmetic in words;
# [how they were written](../data/forgetting/README.md)) twice: `train_and_evaluate` asks the
# fresh base model before it applies the method, and the trained model after. An answer counts
# when it equals an accepted one once case, punctuation and spaces are normalized (normalized
# exact match). LoRA, IA3 and prompt tuning leave every base weight as it was (switch the adapter
# off and the zero-shot model is back); full fine-tuning changes all of them, so this is where
# forgetting can show. With 40 items each accuracy comes with its 95% Wilson interval, and the
# change with a paired bootstrap interval: one that contains 0 means this set cannot tell.

# %%
from dialogsum_peft.forgetting import forgetting_table

forgetting_table(forgetting)  # {method: (before, after)}, filled by train_and_evaluate

# %% [markdown]
# ## 12. Choosing a method
#
# Read your table with these questions:
#
# * **How much better than zero-shot is each method**, and how far apart are the methods? On a
#   few hundred test dialogues, differences of a fraction of a ROUGE point are within noise.
# * **What does each point cost?** Full fine-tuning must store a 1 GB model per task and moves
#   every weight; LoRA's 14 MB adapter sits beside one shared base model, can be switched off
#   (`disable_adapter()`), merged (`merge_and_unload()`) or swapped per request. The course lab's
#   published figures put full fine-tuning 1.4 ROUGE-1 points above LoRA (0.4216 against 0.4081,
#   "mean" protocol); the files to keep differ 70-fold (990 MB against 14 MB in fp32).
# * **IA3 and prompt tuning** train 34 and 115 times fewer parameters than LoRA and save files of
#   a few hundred kB: worth it when you keep very many task adapters, if their ROUGE holds up.
# * **Memory and speed**: the frozen methods need no gradients or optimizer state for the base
#   weights, but every method stores the activations of a full forward pass, which made up most
#   of the one peak measured so far (LoRA, 9.1 GiB at batch 8 with 512-token inputs). Measure on
#   your card: this notebook in full mode, or `python benchmarks/methods.py` on a GPU for speed
#   and memory alone.
#
# ## 13. What next
#
# * `RECIPE = "thorough"` (2 epochs) for every method, and compare again.
# * Any method from the command line, with checkpoints and resume:
#   `python -m dialogsum_peft train --method lora-all`, then `python -m dialogsum_peft evaluate`.
# * Change one method's settings in the cell that builds `configs` (section 2, the one after the
#   knobs): on the line after `configs = {...}`, marked "change a method's settings here", write
#   e.g. `configs["lora"].lora_r = 8`, then run the notebook again from that cell. The settings
#   table and the method's config cell take the new value.
