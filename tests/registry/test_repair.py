"""What a killed registration left, settled: its claimed version's row is written."""

from __future__ import annotations

import canvasback as cb
from canvasback.registry.repair import recover_versions


def test_a_version_claimed_by_a_killed_process_is_recovered(store, client, run_python, model_run):
    uri = f"runs:/{model_run()}/model"
    cb.register_model(uri, "churn")
    # A registration killed after it claimed version 2 and before its row was written.
    killed = run_python(
        f"""
        import os
        import canvasback as cb
        client = cb.MlflowClient({str(store)!r})
        original = client.store.writer.append
        def append(table, *args):
            if table == "model_versions":
                os._exit(9)
            original(table, *args)
        client.store.writer.append = append
        client.create_model_version("churn", {uri!r})
        """,
        check=False,
    )
    assert killed.returncode == 9
    assert [v.version for v in client.search_model_versions()] == ["1"]
    assert recover_versions(cb.client().store, grace_seconds=0) == 1
    recovered = client.get_model_version("churn", 2)
    assert (recovered.source, recovered.version) == (uri, "2")
    assert cb.register_model(uri, "churn").version == "3"
    assert recover_versions(cb.client().store, grace_seconds=0) == 0
