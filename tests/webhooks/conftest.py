from tests.webhooks.support import _fresh_targets, api, at_t0, receiver, sender  # noqa: F401
