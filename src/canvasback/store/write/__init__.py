"""The store's write side: rows logged in a process, on their way into segment files.

- ``writer.py``: one :class:`~canvasback.store.write.writer.Writer` per process and
  store buffers rows per table and experiment and writes them, from a background
  thread, as immutable Parquet segments (and sends the process's heartbeats);
- ``arrow_rows.py``: buffered row tuples to sorted Arrow tables, and what Arrow refuses;
- ``spill.py``: rows the store could not take, kept on local disk and replayed;
- ``lifecycle.py``: a process's last flush, multiprocessing children, fork.

It shares with the read side only what both must agree on: the layout of files
(``layout.py``), the tables' columns, the file system (``fs/``), the liveness rule
(``liveness.py``) and what makes a segment file sound (``integrity.py``).
"""
