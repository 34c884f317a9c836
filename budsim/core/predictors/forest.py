"""The members of every ensemble, predicted together: in one XGBoost call for a few rows once `merge`d.

A REGRESSOR `simulate` predicts one row with nine boosters (three scales x three members). Each `Booster.predict` costs
a third of a millisecond whatever the row count (its configuration, buffers and caches) against microseconds of walking
trees, so nine separate calls would cost about 3 ms per prediction. `merge` concatenates the members' trees into one
booster that is asked only which leaf each row reaches in each tree (`pred_leaf`); a member's margin is then its base
score plus its leaves' values, summed in float32 in tree order as XGBoost's predictor sums them, so the answer is
XGBoost's to the bit (tests pin it). Merging takes about 0.6 s, so the long-lived prediction process does it as it
starts and a one-off prediction (the CLI) does without. For many rows (a search's population) XGBoost's own batched
predictor is the faster, and is used either way.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xgboost as xgb

from budsim.core.types import FloatArray

# Up to this many rows one `pred_leaf` call beats a `predict` per member: each booster call has a fixed cost that
# few rows do not amortise, and from about 30 rows the leaf matrix costs more than it saves.
FEW_ROWS = 16
# Objectives whose prediction is the margin itself, so that leaf values add up to it.
IDENTITY_LINK = frozenset({"reg:absoluteerror", "reg:squarederror", "reg:pseudohubererror", "reg:quantileerror"})


def _base_score(learner_model_param: dict[str, Any]) -> np.float32:
    raw = str(learner_model_param["base_score"])  # "[2.8792847E-2]" since XGBoost 3 (a vector), "2.8792847E-2" before
    return np.float32(float(raw.strip("[]").split(",")[0]))


class _Merged:
    """All members' trees in one booster, each member's base score and trees' span, and every leaf's value."""

    def __init__(self, members: Sequence[xgb.Booster], nthread: int) -> None:
        documents = [json.loads(member.save_raw("json")) for member in members]
        trees: list[dict[str, Any]] = []
        self.bases: list[np.float32] = []
        self.spans: list[tuple[int, int]] = []
        for document in documents:
            self.bases.append(_base_score(document["learner"]["learner_model_param"]))
            start = len(trees)
            for tree in document["learner"]["gradient_booster"]["model"]["trees"]:
                trees.append({**tree, "id": len(trees)})
            self.spans.append((start, len(trees)))
        learner = documents[0]["learner"]
        model = {
            **learner["gradient_booster"]["model"],
            "trees": trees,
            "tree_info": [0] * len(trees),
            "iteration_indptr": list(range(len(trees) + 1)),
            "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": str(len(trees))},
        }
        merged = {**documents[0], "learner": {**learner, "gradient_booster": {"name": "gbtree", "model": model}}}
        self.booster = xgb.Booster()
        self.booster.load_model(bytearray(json.dumps(merged).encode()))
        self.booster.set_param({"nthread": nthread})
        # A leaf's value is stored as its split condition.
        self.leaf_values = np.zeros((len(trees), max(len(t["split_conditions"]) for t in trees)), np.float32)
        for index, tree in enumerate(trees):
            self.leaf_values[index, : len(tree["split_conditions"])] = tree["split_conditions"]

    def predict(self, matrix: xgb.DMatrix) -> FloatArray:
        """Members x rows."""
        rows, trees = matrix.num_row(), self.leaf_values.shape[0]
        leaves = self.booster.predict(matrix, pred_leaf=True).astype(np.intp).reshape(rows, trees)
        values = self.leaf_values[np.arange(trees), leaves]
        margins = []
        for base, (start, stop) in zip(self.bases, self.spans, strict=True):
            terms = np.concatenate([np.full((rows, 1), base, np.float32), values[:, start:stop]], axis=1)
            margins.append(np.cumsum(terms, axis=1, dtype=np.float32)[:, -1])  # one by one, as XGBoost adds them
        return np.stack(margins).astype(np.float64)


class Forest:
    def __init__(self, ensembles: Mapping[str, Sequence[xgb.Booster]], nthread: int) -> None:
        self._ensembles = {name: tuple(members) for name, members in ensembles.items()}
        self._nthread = nthread
        self._merged: _Merged | None = None

    @property
    def merged(self) -> bool:
        return self._merged is not None

    def merge(self) -> None:
        """Ready the one-call path for a few rows (about 0.6 s); ensembles of other objectives keep theirs."""
        members = [member for members in self._ensembles.values() for member in members]
        objectives = {json.loads(member.save_config())["learner"]["objective"]["name"] for member in members}
        if members and objectives <= IDENTITY_LINK and self._merged is None:
            self._merged = _Merged(members, self._nthread)

    def predict(self, matrix: xgb.DMatrix) -> dict[str, FloatArray]:
        """Per ensemble, its members' predictions: an array of members x rows."""
        if self._merged is None or matrix.num_row() > FEW_ROWS:
            return {
                # The caller built `matrix` with the model's own feature names, in order (`ResidualRegressor`
                # checks the width): validating them again per booster decoded every name, a fifth of the time.
                name: np.stack(
                    [member.predict(matrix, validate_features=False).astype(np.float64) for member in members]
                )
                for name, members in self._ensembles.items()
            }
        stacked, out, first = self._merged.predict(matrix), {}, 0
        for name, members in self._ensembles.items():
            out[name] = stacked[first : first + len(members)]
            first += len(members)
        return out
