"""dialogsum_peft.modeling: LoRA on q and v only."""

from conftest import lora


def test_lora_freezes_base_and_targets_only_q_v(tiny):
    model, _ = tiny
    peft_model = lora(model, lora_r=4, lora_alpha=8)
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert {n.split(".")[-4] for n in trainable} == {"q", "v"}
    assert peft_model.peft_config["default"].task_type == "SEQ_2_SEQ_LM"
