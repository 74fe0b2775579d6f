"""The fetch processes' batch plan (backends.imap.messages._jobs_plan): the
first batches of a large sync are small so the store starts at once, every
UID is fetched exactly once, newest first, and no batch exceeds the sync's
batch size (bench/first_sync_timeline.py shows the store idle for ~0.5 s
at the start when the first batches were full-sized)."""
from __future__ import annotations

from backends.imap.messages import BATCH_SIZE, RAMP_BATCHES, FolderWork, _jobs_plan
from backends.imap.sync_commands import FolderStatus
from jmapcore.models.mail import Mailbox


def _work(name: str, count: int, *, top: int, path: str = "initial") -> FolderWork:
    box = Mailbox(imap_name=name, uidvalidity=7)
    return FolderWork(mailbox=box, status=FolderStatus(), to_fetch=list(range(top, top - count, -1)), path=path)


def test_the_first_batches_of_the_sync_ramp_up_and_span_folders() -> None:
    works = [_work("INBOX", 300, top=300), _work("Archive", 5000, top=9000), _work("Sent", 1500, top=1500)]
    jobs = _jobs_plan(works, BATCH_SIZE)
    sizes = [len(batch) for job in jobs for batch in job.batches]
    # INBOX's 300 are split by the first ramp sizes; the ramp continues in Archive.
    assert sizes[:2] == [RAMP_BATCHES[0], 300 - RAMP_BATCHES[0]]
    assert sizes[2 : len(RAMP_BATCHES)] == list(RAMP_BATCHES[2:])
    assert max(sizes) == BATCH_SIZE
    for job, work in zip(jobs, works, strict=True):
        assert job.name == work.mailbox.imap_name and job.uidvalidity == 7
        assert [uid for batch in job.batches for uid in batch] == work.to_fetch


def test_a_small_batch_size_caps_the_ramp_and_skipped_folders_get_no_job() -> None:
    works = [_work("INBOX", 1000, top=1000), _work("Junk", 0, top=0), _work("Old", 40, top=40, path="skip")]
    jobs = _jobs_plan(works, 150)
    assert [job.name for job in jobs] == ["INBOX"]
    sizes = [len(batch) for batch in jobs[0].batches]
    assert max(sizes) <= 150 and sum(sizes) == 1000
    assert [uid for batch in jobs[0].batches for uid in batch] == list(range(1000, 0, -1))
