import pytest

from tuner.budgets import Budgets
from tuner.errors import InputError


def test_margins_are_relative_overshoot():
    b = Budgets(latency_ms=20, ram_bytes=1000, flash_bytes=2000, train_seconds=60)
    m = b.margins(latency_ms=41.2, ram_bytes=500, flash_bytes=2000, train_seconds=90)
    assert m["latency"] == pytest.approx(1.06)
    assert m["ram"] == pytest.approx(-0.5)
    assert m["flash"] == pytest.approx(0.0)
    assert m["train_time"] == pytest.approx(0.5)


def test_missing_budget_is_always_feasible():
    margins = Budgets().margins(1e9, 10**9, 10**9, 1e9)
    assert margins == {"latency": -1.0, "ram": -1.0, "flash": -1.0, "train_time": -1.0}


def test_violation_messages_name_value_and_budget():
    b = Budgets(latency_ms=20, ram_bytes=64 * 1024, train_seconds=20 * 60)
    reasons = b.violations(latency_ms=41.2, ram_bytes=80 * 1024, flash_bytes=1, train_seconds=38 * 60 + 30)
    assert reasons == [
        "latency 41.2 ms > budget 20 ms",
        "RAM 80.0 kB > budget 64 kB",
        "Estimated training time (38m 30s) is larger than the limit (20m 0s)",
    ]


@pytest.mark.parametrize("field", ["latency_ms", "ram_bytes", "flash_bytes", "train_seconds"])
def test_non_positive_budget_is_refused(field):
    with pytest.raises(InputError, match=f"budget {field} must be > 0, got -1"):
        Budgets(**{field: -1})


def test_small_latencies_keep_the_digits_that_break_the_budget():
    assert Budgets(latency_ms=0.6).violations(0.6123, 1, 1, 0.0) == ["latency 0.612 ms > budget 0.6 ms"]


def test_budgets_from_the_users_units_default_to_the_targets_ram_and_flash():
    from tuner.targets import load_target

    nano = load_target("nano33ble")  # 256 kB SRAM, 1 MB flash
    b = Budgets.from_limits(nano, latency_ms=20, ram_kb=64, max_train_minutes=2.5)
    assert (b.latency_ms, b.ram_bytes, b.flash_bytes, b.train_seconds) == (20, 64 * 1024, 1024 * 1024, 150)
    assert Budgets.from_limits(nano, flash_kb=0.5).flash_bytes == 512 and nano.ram_bytes == 256 * 1024
    assert Budgets.from_limits(None, ram_kb=1) == Budgets(ram_bytes=1024)  # no target: no default
