"""E-mail notifications: messages to an account's contacts and to operations, sent from the outbox."""
