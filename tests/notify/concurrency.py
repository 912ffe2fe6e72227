"""Two database sessions in a race: the second acts while the first's transaction is still open."""

import threading
from collections.abc import Callable

from django.db import connection, transaction


def second_waits_for_first(first: Callable[[], object], second: Callable[[], object]) -> tuple[object, object]:
    """Run `first()` in a transaction of one thread and, before it commits, `second()` in another; assert that the
    second could not finish until that commit. Returns both results."""
    results: dict[str, object] = {}
    done_first, release, done_second = threading.Event(), threading.Event(), threading.Event()

    def run_first() -> None:
        with transaction.atomic():
            results["first"] = first()
            done_first.set()
            release.wait(10)
        connection.close()

    def run_second() -> None:
        done_first.wait(10)
        results["second"] = second()
        done_second.set()
        connection.close()

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    for thread in threads:
        thread.start()
    assert done_first.wait(10)
    waited = not done_second.wait(0.5)
    release.set()
    for thread in threads:
        thread.join(10)
    assert waited, "the second session did not wait for the first one's commit"
    return results["first"], results["second"]
