"""Which types a skops file may hold without the user naming them, and the trees' check.

skops rebuilds objects from a tree of typed nodes and trusts few types by default; the
rest it reports (``skops.io.get_untrusted_types``). canvasback adds to skops's defaults
only *types*, never a function (whatever module it lives in): scikit-learn's estimator
classes and the helper types fitted estimators hold, listed below from what
``get_untrusted_types`` reports for real fitted models. Anything else has to be named
(``skops_trusted_types=[...]``): a function such as ``SelectKBest``'s ``f_classif``, a
class outside scikit-learn, and the index-holding types named in ``_REASONS``.

The decision on ``sklearn.tree._tree.Tree``, which skops itself does not trust: it is
let through, because every tree model (decision trees, forests, gradient boosting,
AdaBoost, bagging, isolation forests) holds it. skops refuses it because its node
arrays hold raw indices that scikit-learn follows without bounds checks, so a crafted
file could make ``predict`` read outside them. canvasback checks those indices once the
model is built (:func:`check_trees`), before handing it back: children inside the node
array and after their parent (so a walk always ends), features below the tree's
feature count, which must be the width its estimator checks ``X`` against (and, in a
forest or a boosting, no more than the ensemble's, which hands ``X`` on unchecked). A
file that fails the check is refused; a tree scikit-learn built always passes it.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING, Any, Final, TypeGuard

from canvasback.models.trust import UntrustedModelError

if TYPE_CHECKING:
    from collections.abc import Iterator

TREE: Final = "sklearn.tree._tree.Tree"

# Modules whose own classes fitted estimators hold: all are plain data holders.
_HELD_TYPE_MODULES: Final = (
    "sklearn._loss.link",  # the links of the losses below
    "sklearn._loss.loss",  # losses of GLMs (TweedieRegressor) and gradient boosting
    "sklearn.gaussian_process.kernels",  # the kernels of GaussianProcess* models
    "sklearn.metrics._scorer",  # the scorer a *SearchCV keeps (its function is named)
    "sklearn.model_selection._split",  # the splitter a *SearchCV or *CV keeps
    "sklearn.neural_network._stochastic_optimizers",  # MLP*'s optimizer
    "sklearn.utils._bunch",  # Bunch: the named estimators of Voting* and Stacking*
)
_HELD_TYPES: Final = (
    "numpy.dtype",  # the dtype SimpleImputer and KBinsDiscretizer keep
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.cluster._bisect_k_means._BisectingTree",  # centers and labels, no indices
    "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
    "sklearn.multiclass._ConstantPredictor",
    TREE,  # the decision above: its indices are checked by check_trees
)
# Types left to the user's word, and why (skops gives its own reasons for the ones it
# knows, e.g. HistGradientBoosting's TreePredictor).
_REASONS: Final = {
    name: (
        f"{name} (the index of KNeighbors*, KernelDensity, LocalOutlierFactor, ...) "
        "holds raw index arrays that scikit-learn follows without bounds checks, and "
        "accepts out-of-range ones when loading; fit with algorithm='brute' to need none"
    )
    for name in ("sklearn.neighbors._kd_tree.KDTree", "sklearn.neighbors._ball_tree.BallTree")
}


@cache
def default_types() -> frozenset[str]:
    """The names of the types a skops file may hold unnamed, besides skops's own."""
    from sklearn.utils import all_estimators  # noqa: PLC0415  # the model is one

    found: list[type] = [cls for _, cls in all_estimators()]
    for module_name in _HELD_TYPE_MODULES:
        module = importlib.import_module(module_name)
        found += [v for v in vars(module).values() if _defined_in(v, module_name)]
    for dotted in _HELD_TYPES:
        module_name, _, name = dotted.rpartition(".")
        try:
            value = getattr(importlib.import_module(module_name), name, None)
        except ImportError:  # another scikit-learn version: the class is elsewhere or gone
            continue
        if _defined_in(value, module_name):
            found.append(value)
    return frozenset(f"{cls.__module__}.{cls.__name__}" for cls in found)


def _defined_in(value: object, module_name: str) -> TypeGuard[type]:
    return isinstance(value, type) and value.__module__ == module_name


def allowed(
    untrusted: list[str], named: list[str] | None, where: str, *, action: str = "load"
) -> list[str]:
    """The types to pass to ``skops.io.load``; refuses any neither allowed nor named."""
    ok = default_types() | set(named or [])
    refused = sorted(t for t in untrusted if t not in ok)
    if refused:
        from skops.io.exceptions import UNTRUSTED_TYPE_REASONS  # noqa: PLC0415

        reasons = {**UNTRUSTED_TYPE_REASONS, **_REASONS}
        notes = "".join(f"\n- {reasons[t]}" for t in refused if t in reasons)
        msg = (
            f"Refusing to {action} the skops model at {where!r}: it holds types or "
            f"functions canvasback does not trust unnamed: {refused}. Beyond skops's "
            "defaults, only scikit-learn's estimator classes and the types fitted "
            "estimators hold load without being named, and no function does."
            f"{notes}\nIf you trust them, pass skops_trusted_types={refused!r}."
        )
        raise UntrustedModelError(msg)
    return untrusted


def check_trees(model: object, where: str) -> None:
    """Refuse a model whose trees' node indices leave their arrays (see the module)."""
    from sklearn.ensemble._base import BaseEnsemble  # noqa: PLC0415
    from sklearn.tree._tree import Tree  # noqa: PLC0415

    for path, obj in _walk(model):
        if isinstance(obj, Tree):
            _check_nodes(obj, path, where)
            continue
        attrs = getattr(obj, "__dict__", {})
        tree = attrs.get("tree_")
        if isinstance(tree, Tree) and attrs.get("n_features_in_") != tree.n_features:
            msg = (
                f"Refusing to load the skops model at {where!r}: {path or 'the model'} "
                f"checks X for {attrs.get('n_features_in_')!r} features, but its tree "
                f"reads {tree.n_features}"
            )
            raise UntrustedModelError(msg)
        if isinstance(obj, BaseEnsemble):
            _check_members(obj, attrs, path, where)


def _check_members(ensemble: object, attrs: dict[str, object], path: str, where: str) -> None:
    # An ensemble checks X's width once and hands X to its trees unchecked.
    width = attrs.get("n_features_in_")
    for i, member in enumerate(_items(attrs.get("estimators_"))):
        inner = getattr(member, "__dict__", {})
        if "tree_" not in inner:
            continue
        reads = inner.get("n_features_in_")
        if not isinstance(width, int) or not isinstance(reads, int) or reads > width:
            msg = (
                f"Refusing to load the skops model at {where!r}: "
                f"{path or type(ensemble).__name__} checks X for {width!r} features, but "
                f"its estimator {i} reads {reads!r}"
            )
            raise UntrustedModelError(msg)


def _check_nodes(tree: Any, path: str, where: str) -> None:  # noqa: ANN401  # a Tree
    import numpy as np  # noqa: PLC0415

    count = int(tree.node_count)
    left, right, feature, width = (
        tree.children_left,
        tree.children_right,
        tree.feature,
        int(tree.n_features),
    )
    ids = np.arange(count)
    leaf = (left == -1) & (right == -1)
    inner = (left > ids) & (left < count) & (right > ids) & (right < count)
    good = leaf | (inner & (feature >= 0) & (feature < width))
    bad = np.flatnonzero(~good)
    if count < 1 or bad.size:
        node = int(bad[0]) if bad.size else 0
        shown = (
            f"node {node} has children {int(left[node])}, {int(right[node])} and feature "
            f"{int(feature[node])}"
            if bad.size
            else "it has no node"
        )
        msg = (
            f"Refusing to load the skops model at {where!r}: the tree at {path or 'its root'} "
            f"is not one scikit-learn built: {shown} (it has {count} nodes and {width} "
            "features; a child must come after its node)"
        )
        raise UntrustedModelError(msg)


def _items(value: object) -> list[object]:
    if isinstance(value, list | tuple):
        return list(value)
    ravel = getattr(value, "ravel", None)  # an object array (gradient boosting's stages)
    return list(ravel().tolist()) if callable(ravel) else []


_LEAVES: Final = (str, bytes, int, float, bool, type(None))


def _walk(root: object) -> Iterator[tuple[str, object]]:
    """Every object reachable from ``root`` through attributes and containers."""
    import numpy as np  # noqa: PLC0415

    seen: set[int] = set()
    stack: list[tuple[str, object]] = [("", root)]
    while stack:
        path, obj = stack.pop()
        if isinstance(obj, _LEAVES) or id(obj) in seen:
            continue
        seen.add(id(obj))
        yield path, obj
        if isinstance(obj, dict):
            stack += [(f"{path}[{k!r}]", v) for k, v in obj.items()]
        elif isinstance(obj, list | tuple | set | frozenset):
            stack += [(f"{path}[{i}]", v) for i, v in enumerate(obj)]
        elif isinstance(obj, np.ndarray):
            if obj.dtype == object:
                stack += [
                    (f"{path}[{i}]", v)
                    for i, v in enumerate(obj.ravel().tolist())
                    if not isinstance(v, _LEAVES)
                ]
        elif not isinstance(obj, type) and isinstance(getattr(obj, "__dict__", None), dict):
            stack += [(f"{path}.{k}" if path else k, v) for k, v in vars(obj).items()]
