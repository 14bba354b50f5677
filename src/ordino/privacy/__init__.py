"""Personal data of contacts: export (GDPR art. 15 and 20) and erasure (art. 17)."""
