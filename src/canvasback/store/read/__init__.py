"""The store's read side: segment files (and a snapshot) to one DuckDB catalog per process.

A read goes through these steps, in this order, each in its own module:

1. **segments** (``segments.py``, ``loading.py``): which files of each table are live,
   listed incrementally; a compacted file replaces its inputs; bad files are moved
   aside or skipped;
2. **merge** (``merge.py``, ``events.py``): new files' rows merged into in-memory
   tables, each rule idempotent: a row per natural key, the first param, the latest
   fact by (timestamp, writer, seq), the latest metric by step;
3. **wide** (``wide.py``): the runs whose rows changed get their row of the wide run
   table rebuilt (one row per run, one column per key), which searches scan;
4. **snapshot** (``snapshots.py``, ``snapshot_write.py``): the resolved state on disk,
   so a new reader starts from it and merges only the newer files (the tail);
5. **overlay**: the snapshot under the in-memory tables, one job per module: the
   snapshot's files as sources and its small tables read in (``base.py``), a run's rows
   copied into memory before its new rows merge (``shadow.py``), views that union the
   two (``union_views.py``), and a page's wide rows taken by position (``pages.py``);
6. **catalog** (``catalog.py``): the one object the layers above hold; it refreshes
   (steps 1-5) before each read and answers queries over its named relations
   (``relations.py``) and views (``catalog_tables.py``), metric histories from their
   files (``metric_files.py``), in cursors (``cursors.py``) and, for user SQL, in a
   database of its own (``user_sql.py``).

The write side never reaches any of it; both share only the layout of files, the
tables' columns, the file system, the liveness rule and the integrity check.
"""
