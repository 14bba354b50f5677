"""Outbound webhooks: subscriptions, signed CloudEvents deliveries, retries, replays."""
