"""Keep the cyclic garbage collector from running while a page is parsed.

Parsing a 200-image page allocates thousands of container objects and creates no
cycles, yet each allocation counts towards a collection: on a large listing more than
half of the parse time went to the collector walking objects that cannot be garbage.
So the collector is paused for the parse, and only then:

- it is left as it was found: if the program turned it off, it stays off;
- with several threads parsing at once (``page_concurrency``), only the outermost parse
  pauses it and the last one to finish turns it back on;
- a parse that raises restores it too. Other threads may see it off for the few
  milliseconds of a parse, and nothing else changes.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    """The parses under way in every thread, and whether the first turned it off."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.parsing = 0
        self.paused = False


_PAUSES = _Pauses()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, restoring it as it was."""
    state = _PAUSES
    with state.lock:
        if state.parsing == 0:
            state.paused = gc.isenabled()
            if state.paused:
                gc.disable()
        state.parsing += 1
    try:
        yield
    finally:
        with state.lock:
            state.parsing -= 1
            if state.parsing == 0 and state.paused:
                state.paused = False
                gc.enable()
