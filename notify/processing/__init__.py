"""Processing: stored events and due occasions through the billing core's timeline, into rows.

- ``processor``: the passes and their loop (``Processor``);
- ``batch``: one transaction's reads, runs of ``billingcore.advance``, and what they recorded;
- ``stored``: stored events decoded into commands, payments' invoice numbers resolved;
- ``numbering``: the gapless invoice numbers;
- ``writes``: the rows a transaction writes, flushed with one statement a kind;
- ``locks``, ``statements``: advisory locks and the SQL, built once.
"""

from notify.processing.processor import Processor
from notify.processing.writes import ChangeHook

__all__ = ["ChangeHook", "Processor"]
