"""A stop of the service, as the runs in this process see it.

A graceful stop (SIGTERM, Ctrl-C) is not a crash: the runner sets this flag, a screen_job
run ends between two chunks with a Cancelled state that says so, and the job stays
"processing" in the job store; recovery resumes it from its written chunks at the next start.
"""

from __future__ import annotations

import threading

_stop = threading.Event()

# The state message of a run ended by a stop; recovery adds the run that resumes it.
INTERRUPTED = "interrupted by a stop of the service; the job resumes at the next start"


def request_stop() -> None:
    _stop.set()


def stop_requested() -> bool:
    return _stop.is_set()


def reset() -> None:
    """Serve again after a stop (a runner started anew in the same process, as tests do)."""
    _stop.clear()
