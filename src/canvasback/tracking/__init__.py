"""Runs and experiments: start_run / log_* / end_run, Client, search and its filter grammar."""
