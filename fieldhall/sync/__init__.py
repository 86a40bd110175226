"""A CouchDB-replication-compatible document store, its HTTP router and replicator.

Knows nothing of cases, agents or halls: the hooks in :mod:`fieldhall.sync.policy`
let the layers above decide who may read and write what.
"""
