"""backends.imap.fetch_child.parent_heap_frozen: during a large sync the
worker's existing heap is out of full garbage collections (a full one held
the GIL for ~0.29 s at the first batch of bench/first_sync.py's sync, see
bench/first_sync_timeline.py), and it is handed back afterwards, also when
the sync fails, so that nothing stays frozen (no leak across syncs)."""
from __future__ import annotations

import gc

import pytest

from backends.imap.fetch_child import parent_heap_frozen


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_the_heap_is_frozen_during_the_sync_and_handed_back_after() -> None:
    assert gc.get_freeze_count() == 0
    garbage = _Cycle()
    with parent_heap_frozen():
        # What existed before is frozen: a full collection does not walk it.
        assert gc.get_freeze_count() > 0
        del garbage
        assert not any(isinstance(item, _Cycle) for item in gc.garbage)
    assert gc.get_freeze_count() == 0
    gc.collect()  # the cycle made before, unreachable now, is collected after the sync
    assert not any(isinstance(item, _Cycle) for item in gc.get_objects())


def test_a_failing_sync_unfreezes_too() -> None:
    with pytest.raises(RuntimeError), parent_heap_frozen():
        raise RuntimeError("the sync failed")
    assert gc.get_freeze_count() == 0
