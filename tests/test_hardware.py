"""dialogsum_peft.hardware: the warning before a full run on a CPU, with its estimate."""


def test_cpu_warning_only_for_full_runs_on_cpu():
    from dialogsum_peft.hardware import DeviceInfo, cpu_warning

    msg = cpu_warning(DeviceInfo(), 8000, smoke=False)
    assert "no GPU" in msg and "hours" in msg and "DIALOGSUM_MODE=smoke" in msg
    assert cpu_warning(DeviceInfo(), 8000, smoke=True) is None
    assert cpu_warning(DeviceInfo("cuda", "T4", 15, False), 8000, smoke=False) is None
