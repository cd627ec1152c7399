"""The adapter slot every handler module uses to find its register, gateway or post office."""
from __future__ import annotations

from registers.adapter_slot import AdapterSlot


def test_created_on_first_use_per_key_replaced_for_a_block_and_restored():
    made = []
    slot = AdapterSlot(lambda *key: made.append(key) or f"adapter{key}")
    assert slot.current() == "adapter()" and slot.current() == "adapter()"
    assert slot.current("birth") == "adapter('birth',)"
    assert made == [(), ("birth",)]  # once per key
    with slot.use("stand-in", "birth"):
        assert slot.current("birth") == "stand-in" and slot.current() == "adapter()"
    assert slot.current("birth") == "adapter('birth',)"
    with slot.use("fresh", "bhyt"):  # a key never used before: gone again after the block
        assert slot.current("bhyt") == "fresh"
    assert slot.current("bhyt") == "adapter('bhyt',)"
    slot.set(None)
    slot.current()
    assert made[-1] == ()  # chosen again from the environment
