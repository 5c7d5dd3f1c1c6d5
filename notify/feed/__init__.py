"""The in-app feed (CONTRACT §5): items kept current by the processor, polled by GitLab.

- ``sync``: the processor's change hook (``feed_hook``) writes each subscription's items and
  bumps its audience's version when what the audience sees changes;
- ``texts``: the words of each item kind;
- ``tokens``: feed tokens, stored as hashes (``create_token``);
- ``web``: ``GET /api/v1/feed``, ``POST /api/v1/feed/{id}/dismiss`` and
  ``POST /admin/api/v1/feed-tokens`` (``install``);
- ``cli``: ``notify feed-token create``.

This module imports only what the processor needs, so the background work can import the hook
without pulling in the HTTP side.
"""

from notify.feed.sync import feed_hook, sync_feed
from notify.feed.tokens import create_token

__all__ = ["create_token", "feed_hook", "sync_feed"]
