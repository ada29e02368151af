"""The async resources: the one source of both clients' resources."""
