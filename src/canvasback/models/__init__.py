"""Models: MLflow's on-disk format, flavors, signatures (log_model / load_model)."""
