"""Data between the cache and remotes: push/pull/fetch (`sync`), `gc` and `status -c`."""
