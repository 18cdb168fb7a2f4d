"""The fair scheduler of bot turns (chat_server/services/fair_queue.py), without I/O."""

from __future__ import annotations

import asyncio

import pytest

from chat_server.services.fair_queue import FairScheduler, TurnsBusy


async def settle() -> None:
    """Let every ready task run up to its next wait."""
    for _ in range(10):
        await asyncio.sleep(0)


class Recorder:
    """Turns that note the order they got a slot in, then hold it until released."""

    def __init__(self, scheduler: FairScheduler) -> None:
        self.scheduler = scheduler
        self.order: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.gates: dict[str, asyncio.Event] = {}

    def turn(self, address: str, visitor: str, name: str, hold: bool = False) -> asyncio.Task[None]:
        gate = self.gates[name] = asyncio.Event()
        if not hold:
            gate.set()

        async def run() -> None:
            async with self.scheduler.slot(address, visitor):
                self.order.append(name)
                await gate.wait()

        task = asyncio.create_task(run(), name=name)
        self.tasks.append(task)
        return task

    async def finish(self) -> None:
        await asyncio.gather(*self.tasks)


async def test_a_free_slot_is_taken_at_once_and_given_back() -> None:
    scheduler = FairScheduler(2)
    async with scheduler.slot("a", "v1"):
        assert scheduler.active == 1
        async with scheduler.slot("a", "v2"):
            assert (scheduler.active, scheduler.waiting) == (2, 0)
    assert scheduler.active == 0


async def test_addresses_take_turns_and_within_one_its_visitors_take_turns() -> None:
    recorder = Recorder(FairScheduler(1))
    recorder.turn("x", "h", "hold", hold=True)
    await settle()
    # Address A queues first, with two visitors of two turns each; B after it.
    for name, visitor in (("a1.1", "a1"), ("a1.2", "a1"), ("a2.1", "a2"), ("a2.2", "a2")):
        recorder.turn("A", visitor, name)
    for name in ("b.1", "b.2", "b.3"):
        recorder.turn("B", "b", name)
    await settle()
    assert recorder.scheduler.waiting == 7
    recorder.gates["hold"].set()
    await recorder.finish()
    assert recorder.order == ["hold", "a1.1", "b.1", "a2.1", "b.2", "a1.2", "b.3", "a2.2"]


async def test_one_senders_backlog_does_not_delay_another_address() -> None:
    """Address A holds 20 queued turns; a turn from B is served next."""
    recorder = Recorder(FairScheduler(1))
    recorder.turn("A", "v0", "A0", hold=True)
    await settle()
    for i in range(1, 21):
        recorder.turn("A", f"v{i}", f"A{i}")
    await settle()
    recorder.turn("B", "w", "B")
    await settle()
    recorder.gates["A0"].set()
    await recorder.finish()
    assert recorder.order[:2] == ["A0", "B"]
    assert recorder.order[2:] == [f"A{i}" for i in range(1, 21)]


async def test_a_visitor_who_writes_now_and_then_goes_before_busy_senders() -> None:
    recorder = Recorder(FairScheduler(1))
    recorder.turn("F1", "f1", "H", hold=True)
    await settle()
    for i in range(1, 4):
        recorder.turn("F1", "f1", f"F1.{i}", hold=True)
        recorder.turn("F2", "f2", f"F2.{i}", hold=True)
    await settle()
    recorder.gates["H"].set()
    await settle()
    assert recorder.order == ["H", "F2.1"]  # F1 just had a turn
    recorder.turn("N", "n", "N")  # a newcomer, while both flooders wait
    await settle()
    recorder.gates["F2.1"].set()
    await settle()
    # Plain round robin would put N behind F1 (next in the ring); N has had no turn.
    assert recorder.order == ["H", "F2.1", "N", "F1.1"]
    for gate in recorder.gates.values():
        gate.set()
    await recorder.finish()
    assert recorder.order[4:] == ["F2.2", "F1.2", "F2.3", "F1.3"]


async def test_one_visitors_turns_keep_their_order() -> None:
    recorder = Recorder(FairScheduler(1))
    recorder.turn("A", "v", "hold", hold=True)
    await settle()
    for i in range(5):
        recorder.turn("A", "v", f"v{i}")
        recorder.turn("B", "w", f"w{i}")
    await settle()
    recorder.gates["hold"].set()
    await recorder.finish()
    assert [n for n in recorder.order if n.startswith("v")] == [f"v{i}" for i in range(5)]
    assert [n for n in recorder.order if n.startswith("w")] == [f"w{i}" for i in range(5)]


async def test_a_waiter_cancelled_leaves_the_queue_and_leaks_no_slot() -> None:
    scheduler = FairScheduler(1)
    recorder = Recorder(scheduler)
    recorder.turn("A", "v", "hold", hold=True)
    await settle()
    gone = recorder.turn("A", "gone", "gone")
    recorder.turn("B", "w", "w")
    await settle()
    assert scheduler.waiting == 2
    gone.cancel()  # the client disconnected while its turn waited
    await settle()
    assert (scheduler.waiting, scheduler.waiting_for("A")) == (1, 0)
    recorder.tasks.remove(gone)
    recorder.gates["hold"].set()
    await recorder.finish()
    assert recorder.order == ["hold", "w"]
    assert (scheduler.active, scheduler.waiting) == (0, 0)
    async with scheduler.slot("C", "c"):  # the slot is free again
        assert scheduler.active == 1


async def test_a_slot_granted_to_a_cancelled_turn_is_passed_on() -> None:
    scheduler = FairScheduler(1)
    recorder = Recorder(scheduler)
    recorder.turn("A", "v", "hold", hold=True)
    await settle()
    doomed = recorder.turn("B", "w", "doomed", hold=True)
    recorder.turn("C", "x", "next")
    await settle()
    recorder.gates["hold"].set()
    await asyncio.sleep(0)  # "hold" gives its slot to "doomed", which has not run yet
    assert (scheduler.active, scheduler.waiting) == (1, 1)
    doomed.cancel()
    recorder.tasks.remove(doomed)
    await recorder.finish()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert recorder.order == ["hold", "next"]
    assert (scheduler.active, scheduler.waiting) == (0, 0)


async def test_a_cancelled_turn_whose_grant_is_pending_is_skipped() -> None:
    """Cancelled, then the slot frees before its clean-up ran: the next one gets it."""
    scheduler = FairScheduler(1)
    recorder = Recorder(scheduler)
    recorder.turn("A", "v", "hold", hold=True)
    await settle()
    doomed = recorder.turn("B", "w", "doomed")
    recorder.turn("C", "x", "next")
    await settle()
    doomed.cancel()  # its future is cancelled now; its except-branch runs later
    recorder.gates["hold"].set()
    recorder.tasks.remove(doomed)
    await recorder.finish()
    assert recorder.order == ["hold", "next"]
    assert (scheduler.active, scheduler.waiting) == (0, 0)


async def test_a_huge_backlog_from_one_address_is_refused_not_queued() -> None:
    scheduler = FairScheduler(1, max_waiting_per_address=3, retry_after=7)
    recorder = Recorder(scheduler)
    recorder.turn("A", "v0", "hold", hold=True)
    await settle()
    for i in range(3):
        recorder.turn("A", f"v{i + 1}", f"A{i}")
    await settle()
    with pytest.raises(TurnsBusy) as refused:
        async with scheduler.slot("A", "v9"):
            pass
    assert refused.value.retry_after == 7
    assert scheduler.waiting_for("A") == 3
    recorder.turn("B", "w", "B")  # another address still gets in line
    await settle()
    assert scheduler.waiting == 4
    recorder.gates["hold"].set()
    await recorder.finish()
    assert recorder.order == ["hold", "B", "A0", "A1", "A2"]


async def test_zero_concurrency_means_no_bound_and_no_queue() -> None:
    scheduler = FairScheduler(0)
    recorder = Recorder(scheduler)
    for i in range(30):
        recorder.turn("A", f"v{i}", f"A{i}", hold=True)
    await settle()
    assert (scheduler.active, scheduler.waiting) == (30, 0)
    for gate in recorder.gates.values():
        gate.set()
    await recorder.finish()
    assert scheduler.active == 0


async def test_wait_is_observed_and_memory_stays_bounded() -> None:
    now = [0.0]
    waits: list[float] = []
    scheduler = FairScheduler(1, observe_wait=waits.append, clock=lambda: now[0], remembered=8)
    recorder = Recorder(scheduler)
    recorder.turn("A", "v", "hold", hold=True)
    await settle()
    recorder.turn("B", "w", "w")
    await settle()
    now[0] = 2.5
    recorder.gates["hold"].set()
    await recorder.finish()
    assert waits == [0.0, 2.5]
    for i in range(50):
        async with scheduler.slot(f"addr{i}", f"visitor{i}"):
            pass
    assert len(scheduler._last) <= 8
    assert scheduler._waiting == {}


def test_the_pool_grows_with_the_rasa_servers_and_zero_turns_it_off() -> None:
    from pydantic import SecretStr, ValidationError

    from chat_server.settings import Settings

    key = SecretStr("unit-test-secret-key-0123")
    two = Settings(secret_key=key, rasa_url="http://127.0.0.1:1,http://127.0.0.1:2")
    assert two.bot_turn_slots == 2 * two.rasa_max_concurrency > 0
    assert Settings(secret_key=key, rasa_max_concurrency=0).bot_turn_slots == 0
    with pytest.raises(ValidationError):
        Settings(secret_key=key, rasa_max_concurrency=-1)
    with pytest.raises(ValidationError):
        Settings(secret_key=key, rasa_queue_per_address=0)
