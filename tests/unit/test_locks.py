import asyncio

from chat_server.services.locks import KeyedLocks


async def test_same_key_runs_in_order_and_lock_is_released() -> None:
    locks = KeyedLocks()
    order: list[str] = []

    async def work(name: str, delay: float) -> None:
        async with locks.hold("visitor"):
            order.append(f"{name}-start")
            await asyncio.sleep(delay)
            order.append(f"{name}-end")

    await asyncio.gather(work("a", 0.05), work("b", 0))
    assert order == ["a-start", "a-end", "b-start", "b-end"]
    assert len(locks) == 0


async def test_different_keys_do_not_wait_for_each_other() -> None:
    locks = KeyedLocks()
    async with locks.hold("one"):
        await asyncio.wait_for(_hold(locks, "two"), 0.5)


async def _hold(locks: KeyedLocks, key: str) -> None:
    async with locks.hold(key):
        pass
