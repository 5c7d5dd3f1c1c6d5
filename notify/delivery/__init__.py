"""Email delivery: the outbox worker and what it needs.

- ``worker``: ``Deliverer``, claim → compose → send → record, in passes;
- ``outbox``: the outbox table seen from delivery (claims under a lease, opt-outs, records);
- ``policy``: when to try a failed email again (a pure decision);
- ``transports``: SMTP and the mail folder, with their error translation;
- ``tokens``: the personal one-click unsubscribe tokens.

What an email says and how it is assembled is ``notify.mail``; the composition root
(``notify.services``) wires a deliverer for ``notify serve`` and ``notify worker`` alike.
"""
