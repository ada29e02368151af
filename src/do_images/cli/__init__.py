"""The ``do-images`` command line; ``main`` is its only public name.

Where things are: ``_main`` (running a command: the client, option checks, the error
line), ``_parser`` (the shared argument types and options, and ``Commands``, to which
each command family adds its commands), ``_registry`` (the list of families, and the
parser built from them), one module per command family holding its parsers and
handlers together, ``_commands`` (what every handler gets and may raise),
``_failures`` (exit statuses, and the one line for each error), ``_output`` and
``_text`` (what is printed, made safe).
"""

from ._main import main

__all__ = ["main"]
