"""Start Rasa with the HTTP API token taken from the environment, not the command line.

``rasa run --auth-token=TOKEN`` puts the token in the process arguments, which
every local user can read (``ps``, ``/proc/<pid>/cmdline``). This launcher reads
it from ``RASA_TOKEN`` (``/proc/<pid>/environ`` is readable by the owner only),
hands it to Rasa's own CLI entry point inside this process, and so never
exposes it::

    RASA_TOKEN=... python launch_rasa.py run --enable-api -i 127.0.0.1 -p 5005 ...

Every argument is passed on to ``rasa`` unchanged. Used by ``dev/devstack.py``
(``make run``, tests) and ``docker-compose.yml``.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run ``rasa <args> --auth-token <RASA_TOKEN>`` in this process."""
    args = sys.argv[1:]
    if any(arg.startswith("--auth-token") for arg in args):
        sys.exit("launch_rasa: give the token in RASA_TOKEN, not on the command line")
    # Popped so that nothing Rasa starts inherits it.
    token = os.environ.pop("RASA_TOKEN", "")
    if not token:
        # Without a token Rasa's HTTP API would accept anyone's requests.
        sys.exit("launch_rasa: RASA_TOKEN is not set; refusing to start Rasa without it")
    # Only this interpreter's copy of argv changes; /proc/<pid>/cmdline keeps
    # the arguments the process was started with (no token).
    # One "--auth-token=..." argument: a token starting with "-" (token_urlsafe
    # makes one in 64) would otherwise be read as an option, and Rasa exit 2.
    sys.argv = ["rasa", *args, f"--auth-token={token}"]
    import speedups  # next to this file (sys.path[0] is the script's directory)

    if os.environ.get("RAPPORT_BENCH_BASELINE") == "1":
        speedups.apply_baseline()  # bench/bot_path.py's "before" figures
    else:
        speedups.apply()
    from storage.availability import install_strict_failsafe

    # A tracker store outage fails the request instead of losing the tracker.
    install_strict_failsafe()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
