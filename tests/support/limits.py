"""Rate limits raised for load generators and shared test stacks.

Tests and benchmarks open hundreds of connections from 127.0.0.1 within
seconds; the limits themselves are tested with small values in
tests/integration/test_limits.py.
"""

GENEROUS_LIMITS_ENV = {
    "RATE_LIMIT_MESSAGES": "1000/second",
    "RATE_LIMIT_MESSAGES_PER_IP": "100000/second",
    "RATE_LIMIT_CONNECTIONS_PER_IP": "100000/minute",
    "RATE_LIMIT_NEW_VISITORS_PER_IP": "1000000/hour",
    "RATE_LIMIT_CARD_CLICKS": "1000/second",
    "RATE_LIMIT_SIGNALS": "1000/second",
    "RATE_LIMIT_TRACK": "1000/second",
    "RATE_LIMIT_LOGINS": "1000/minute",
    "RATE_LIMIT_LOGIN_FAILURES_PER_IP": "100000/hour",
    "MAX_CONNECTIONS_PER_IP": "1000000",
    # Load generators open hundreds of connections at once from one address.
    "HTTP_MAX_HANDSHAKING": "100000",
    "HTTP_MAX_HANDSHAKING_PER_IP": "100000",
    # Every load generator's socket is 127.0.0.1: no packet budget to share.
    "SOCKET_PACKETS_PER_SECOND_PER_IP": "1000000",
    "SOCKET_PACKET_BURST_PER_IP": "1000000",
}
