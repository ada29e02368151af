"""The sync resources, generated from ``_async/`` by ``tools/unasync.py``: do not edit."""
