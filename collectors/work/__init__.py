"""The hub's work as jobs on PostgreSQL (procrastinate): queue.py (the App, enqueueing in the
caller's transaction, the schema), polls.py (a poll as one job per device), tasks.py (the
tasks), worker.py (`kiemke worker`, stalled jobs). On SQLite nothing here runs: the same
functions run in the scheduler's or the server's process."""
