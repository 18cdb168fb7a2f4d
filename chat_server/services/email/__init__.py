"""Email: composing messages, the outbox and its worker, the relay, and the
double opt-in for marketing consent (docs/email.md)."""
