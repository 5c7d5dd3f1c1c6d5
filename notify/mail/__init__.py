"""The email path after the handlers: notices into outbox rows, and outbox rows into messages.

- ``enqueue``: a notice's email as outbox rows, one per recipient, each with its idempotency key
  and its Message-ID (the same for every retry);
- ``render``: the templates of every kind, compiled once at load;
- ``compose``: one outbox row rendered and assembled into the bytes that go out, with
  List-Unsubscribe for the reminder kinds.

What an email says is ``notify.handlers`` (the context) and ``notify/templates`` (the words).
"""
