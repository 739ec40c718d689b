"""A parameter search's results, logged as MLflow's autolog logs ``GridSearchCV``'s.

On the search's run: ``best_cv_score``, the params ``best_<name>`` of the best
candidate, and ``cv_results.csv`` (``cv_results_``, a row per candidate). A child run
per candidate, the ``max_tuning_runs`` best by ``rank_test_score`` (all of them for
None): the seed estimator's params with the candidate's over them, and the candidate's
numeric results (``mean_test_score``, ``std_test_score``, ``rank_test_score``, times;
not each split's) as metrics. Child runs start when the search's run started (when each
candidate ran is not known) and end when they are logged. Each part that fails is left
out with a message in the log; the others are logged.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Final

from canvasback.integrations.session import AUTOLOGGING_TAG, LOG
from canvasback.integrations.sklearn_params import estimator_tags, flat, flat_params
from canvasback.tracking import current

if TYPE_CHECKING:
    from canvasback.integrations.settings import Options
    from canvasback.tracking.run import Run

RESULTS_ARTIFACT: Final = "cv_results.csv"
# Columns of cv_results_ that are no candidate's metric: its params, each split's score.
_NOT_METRICS: Final = ("param", "split")


def log_results(run: Run, options: Options, search: Any) -> None:  # noqa: ANN401
    """Log a fitted search's best score and params, its candidates and ``cv_results.csv``."""
    if hasattr(search, "best_score_"):
        run.log_metrics({"best_cv_score": search.best_score_})
    if hasattr(search, "best_params_"):
        run.log_params(flat({f"best_{k}": v for k, v in search.best_params_.items()}))
    if not hasattr(search, "cv_results_"):
        return
    try:
        log_candidates(run, search, options.max_tuning_runs)
    except Exception as exc:  # noqa: BLE001 - the search's own run is logged all the same
        LOG.warning("Child runs of the parameter search may be missing: %s", exc)
    try:
        import pandas as pd  # noqa: PLC0415

        table = pd.DataFrame(search.cv_results_).to_csv(index=False)
        run.log_text(table, RESULTS_ARTIFACT)
    except Exception as exc:  # noqa: BLE001
        LOG.warning("Failed to log the parameter search's results as %s: %s", RESULTS_ARTIFACT, exc)


def log_candidates(run: Run, search: Any, max_runs: int | None) -> None:  # noqa: ANN401
    """A finished child run of ``run`` for each candidate kept."""
    results: dict[str, Any] = search.cv_results_
    rank = _rank_column(results, max_runs)
    count = len(results["params"])
    order = sorted(range(count), key=lambda i: (results[rank][i], i))
    if max_runs is not None:
        order = order[:max_runs]
    seed = search.estimator
    base = flat_params(seed)
    tags = {AUTOLOGGING_TAG: "sklearn", **estimator_tags(seed)}
    client = current.client()
    for i in order:
        child = client.create_run(
            run.info.experiment_id,
            start_time=run.info.start_time,
            tags=tags,
            parent_run_id=run.run_id,
            params={**base, **flat(results["params"][i])},
        )
        child.log_metrics(
            {
                key: values[i]
                for key, values in results.items()
                if not key.startswith(_NOT_METRICS) and isinstance(values[i], numbers.Number)
            }
        )
        child.end("FINISHED")


def _rank_column(results: dict[str, Any], max_runs: int | None) -> str:
    if "rank_test_score" in results:
        return "rank_test_score"
    # Several scorers: the first one's rank, as MLflow takes.
    rank = next(key for key in results if key.startswith("rank_test_"))
    if max_runs is not None:
        LOG.warning(
            "The %d best candidates become child runs by their %s; max_tuning_runs=None "
            "makes one for every candidate",
            max_runs,
            rank,
        )
    return rank
