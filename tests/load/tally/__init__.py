"""Counts every package signal in the database, inside the signal's transaction, from the
server processes: a rolled-back transaction leaves no count behind."""
