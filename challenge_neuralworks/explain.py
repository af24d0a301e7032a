"""Exact path-dependent TreeSHAP on a :class:`~challenge_neuralworks.ensemble.TreeEnsemble`.

Why here and not the ``shap`` package: the Lambda function imports numpy only (``shap`` needs
numba and scikit-learn), and the compiled ensemble is what it serves. The values are those of
Lundberg et al. (2018), Algorithm 2, "path-dependent" (``shap.TreeExplainer`` with
``feature_perturbation="tree_path_dependent"``): a feature left out of a coalition is averaged
over the way the training rows went at each node that splits on it, weighted by the nodes'
cover. ``tests/unit/test_explain.py`` pins them to ``shap``, to the definition and to a worked
example.

The closed form (the one behind Fast TreeSHAP v2, Yang 2021): take a leaf with value ``v``
whose path from the root splits on ``d`` distinct features ``U``; for feature ``j`` in ``U``
let ``z_j`` be the product of the cover fractions ``cover[child] / cover[parent]`` of the
path's edges on ``j``, and ``o_j`` 1 when the row follows all of them, else 0. Given the known
features ``S``, the leaf adds ``v * prod_{j in S} o_j * prod_{j in U - S} z_j`` to the
expectation, so with ``O = {j : o_j = 1}`` its Shapley value for ``i`` in ``U`` is

* ``v * (1 - z_i) / z_i * H(O - {i})`` when ``i`` is in ``O``, and ``-v * H(O)`` otherwise,
* where ``H(P) = sum over S subset of P of |S|! (d - |S| - 1)! / d! * prod_{j in U - S} z_j``.

Both cases depend on the row only through ``O``, so :class:`TreeExplainer` tabulates, for
every leaf and every subset ``O`` of its path features, what the leaf adds to each feature
(``sum(2 ** d)`` rows of ``n_features``: 210k x 12, 19 MiB, for the production recipe's 200 trees
of 31 leaves and depth 8), and for every subset of the leaf's *edges* the row may follow, which
``O`` that is (``sum(2 ** edges)`` integers, 6 MiB). Both depend on the trees alone and are built
once, by the first explained request (about 0.1 s). Explaining a row is then a fixed sequence of
array operations over every path of every tree at once, no loop over trees or nodes:

1. the distinct node comparisons (trees split on shared bin edges: 730 for 6,000 nodes), on the
   widened input of the prediction walk, so missing values and categorical splits go exactly
   where the prediction sends them;
2. which edges of each leaf's path the row follows, 8 per leaf packed into one integer;
3. that integer's ``O`` (a lookup), the leaf's table row (a lookup), and the sum of the rows
   over all leaves (one matrix product).

A categorical split counts for the input feature it tests (its virtual column is an encoding
detail of the walk, not a player), and so does a split's missing-value direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from challenge_neuralworks.ensemble import TreeEnsemble

#: Rows explained together: bounds the (rows x leaves x features) temporaries (a few MiB).
_BLOCK_ROWS: Final[int] = 16
#: Largest table an ensemble may need, in values (2**25: 256 MiB). The production recipe needs
#: 2.5 M; a model without ``max_depth`` (paths of dozens of edges) does not fit.
MAX_TABLE_SIZE: Final[int] = 2**25
#: Gathers the low bit of each of 8 bytes into one byte: byte k of a little-endian uint64 lands
#: on bit 56 + k of the product, and no other partial product reaches bits 56-63 or carries.
_BYTES_TO_BITS: Final[np.uint64] = np.uint64(0x0102040810204080)
_LITTLE_ENDIAN_U64: Final[np.dtype] = np.dtype("<u8")


@dataclass(frozen=True, eq=False)
class TreeExplainer:
    """Per-feature contributions to an ensemble's raw score (log-odds for a classifier).

    ``expected_value + shap_values(X).sum(axis=1) == ensemble.raw(X)`` (local accuracy).
    Build it with :meth:`of`; everything is derived from the ensemble's nodes, nothing stored.
    """

    ensemble: TreeEnsemble
    #: Baseline plus every tree's mean leaf value under the cover: the raw score of no knowledge.
    expected_value: float
    #: The distinct node comparisons (``wide[:, column] <= threshold``) of all trees: trees
    #: split on shared bin edges, so there are few (hundreds for thousands of nodes). The last
    #: one always holds.
    compare_column: np.ndarray
    compare_threshold: np.ndarray
    # Each leaf's path edges in root-to-leaf order, padded to a multiple of 8 with edges that
    # are never followed: the parent node's comparison, and whether the edge is its left branch.
    edge_compare: np.ndarray  # (leaves, width) index into the comparisons
    edge_left: np.ndarray  # (leaves, width)
    mask_start: np.ndarray  # (leaves,) where the leaf's entries start in ``row_of``
    #: For each leaf and each set of its edges the row follows (a bitmask in path order): the
    #: row of ``table`` for the features it follows all edges of (``O``).
    row_of: np.ndarray
    #: (sum of 2 ** d, n_features): what a leaf adds to each feature, for each ``O``.
    table: np.ndarray

    @classmethod
    def of(cls, ensemble: TreeEnsemble) -> TreeExplainer:
        """Tabulate the ensemble's paths (once per loaded model)."""
        paths = _Paths.of(ensemble)
        rows = int(np.sum(2.0**paths.depth))
        masks = int(np.sum(2.0**paths.length))
        if max(rows * ensemble.n_features, masks) > MAX_TABLE_SIZE:
            raise ValueError(
                f"explaining this ensemble needs tables of {rows * ensemble.n_features:,} and "
                f"{masks:,} values (limit {MAX_TABLE_SIZE:,} each): its paths are too long; "
                "bound max_depth"
            )
        leaf_start = np.concatenate([[0], np.cumsum(2**paths.depth)[:-1]]).astype(np.intp)
        mask_start = np.concatenate([[0], np.cumsum(2**paths.length)[:-1]]).astype(np.intp)
        table, expected = _table(paths, leaf_start, rows, ensemble.n_features)
        internal = np.unique(paths.edge_parent)
        comparisons, node_compare = np.unique(
            np.column_stack([ensemble.column[internal], ensemble.threshold[internal]]),
            axis=0,
            return_inverse=True,
        )
        compare_of = np.zeros(len(ensemble.column), dtype=np.intp)
        compare_of[internal] = node_compare.ravel()
        n_leaves = len(paths.length)
        width = 8 * max(1, -(-int(paths.length.max(initial=1)) // 8))
        leaf = np.repeat(np.arange(n_leaves), paths.length)  # of each edge
        position = np.arange(len(leaf)) - np.repeat(
            np.cumsum(paths.length) - paths.length, paths.length
        )
        compare = np.full((n_leaves, width), len(comparisons), dtype=np.intp)  # always holds,
        left = np.zeros((n_leaves, width), dtype=bool)  # so a padding edge is never followed
        compare[leaf, position] = compare_of[paths.edge_parent]
        left[leaf, position] = paths.edge_left
        return cls(
            ensemble=ensemble,
            expected_value=ensemble.baseline + math.fsum(expected.tolist()),
            compare_column=np.append(comparisons[:, 0], 0).astype(np.intp),
            compare_threshold=np.append(comparisons[:, 1], np.inf),
            edge_compare=compare,
            edge_left=left,
            mask_start=mask_start,
            row_of=_rows_of(paths, leaf_start, masks),
            table=table,
        )

    def shap_values(self, X: np.ndarray) -> np.ndarray:
        """Contributions (n_rows, n_features) of the rows of ``X`` to ``ensemble.raw(X)``."""
        X = np.asarray(X, dtype=np.float64)
        n_features = self.ensemble.n_features
        if X.ndim != 2 or X.shape[1] != n_features:
            raise ValueError(f"expected shape (n, {n_features}), got {X.shape}")
        wide = self.ensemble.widen(X)
        if len(wide) <= _BLOCK_ROWS:
            return self._block(wide)
        return np.concatenate(
            [self._block(wide[i : i + _BLOCK_ROWS]) for i in range(0, len(wide), _BLOCK_ROWS)]
        )

    def _block(self, wide: np.ndarray) -> np.ndarray:
        n = len(wide)
        holds = np.take(wide, self.compare_column, axis=1) <= self.compare_threshold
        if n == 1:  # the API's common case: a flat take is twice as fast
            followed = holds[0].take(self.edge_compare)[None] == self.edge_left
        else:
            followed = np.take(holds, self.edge_compare, axis=1) == self.edge_left
        # The edges a leaf's path follows as bytes, 8 at a time into the bits of one integer.
        octets = followed.reshape(n, len(self.mask_start), -1, 8).view(_LITTLE_ENDIAN_U64)
        bits = ((octets[..., 0] * _BYTES_TO_BITS) >> np.uint64(56)).astype(np.intp)
        mask = bits[..., 0]
        for k in range(1, bits.shape[2]):
            mask |= bits[..., k] << (8 * k)
        rows = self.row_of.take(self.mask_start + mask)  # (rows, leaves)
        leaves = self.table.take(rows.ravel(), axis=0).reshape(n, len(self.mask_start), -1)
        return np.ones(len(self.mask_start)) @ leaves  # the sum over every leaf, by BLAS


@dataclass(frozen=True, eq=False)
class _Paths:
    """Every root-to-leaf path that has an edge: its edges in path order, and its slots (the
    distinct features it tests) in order of first appearance."""

    leaf_value: np.ndarray  # (leaves,)
    depth: np.ndarray  # (leaves,) slots on the path, d
    length: np.ndarray  # (leaves,) edges on the path
    z: np.ndarray  # (slots,) product of the cover fractions of the slot's edges
    slot_feature: np.ndarray  # (slots,) input column the slot's splits test
    edge_slot: np.ndarray  # (edges,) the slot of each edge, 0..d-1 within its leaf
    edge_parent: np.ndarray  # (edges,) the node the edge leaves
    edge_left: np.ndarray  # (edges,) whether it is that node's left branch
    #: Leaf values of the single-leaf trees (no path: they only shift the expected value).
    constant: float

    @classmethod
    def of(cls, ensemble: TreeEnsemble) -> _Paths:
        """All paths at once, one tree level per step (no loop over nodes)."""
        nodes = np.arange(len(ensemble.children))
        right, left = ensemble.children[:, 0], ensemble.children[:, 1]
        internal = right != nodes  # a leaf points to itself
        parent = np.full(len(nodes), -1)
        parent[left[internal]] = nodes[internal]
        parent[right[internal]] = nodes[internal]
        leaves = np.flatnonzero(~internal)
        # Walk up from every leaf at once; column j of `up` is the j-th edge above the leaf.
        up_parent, up_left, child = [], [], leaves
        while True:
            above = parent[child]
            if not np.any(above >= 0):
                break
            up_parent.append(above)
            up_left.append((above >= 0) & (left[np.maximum(above, 0)] == child))
            child = np.where(above >= 0, above, child)
        length = np.sum(np.array(up_parent, ndmin=2) >= 0, axis=0) if up_parent else 0 * leaves
        has_path = length > 0
        constant = float(ensemble.leaf_value[leaves[~has_path]].sum())
        leaves, length = leaves[has_path], length[has_path]
        steps = max(1, len(up_parent))
        up_parent_m = np.array(up_parent, ndmin=2).T[has_path] if up_parent else np.zeros((0, 1))
        up_left_m = np.array(up_left, ndmin=2).T[has_path] if up_left else np.zeros((0, 1))
        # Root-to-leaf order: edge k of a path of length e is column e - 1 - k of `up`.
        k = np.arange(steps)
        valid = k[None, :] < length[:, None]  # (leaves, steps)
        source = np.where(valid, length[:, None] - 1 - k[None, :], 0)
        path_parent = np.take_along_axis(up_parent_m.astype(np.intp), source, axis=1)
        path_left = np.take_along_axis(up_left_m.astype(bool), source, axis=1)
        child_of = np.where(path_left, left[path_parent], right[path_parent])
        cover = np.asarray(ensemble.cover, dtype=np.float64)
        fraction = np.where(valid, cover[child_of] / cover[path_parent], 1.0)
        feature = np.where(valid, _input_feature(ensemble)[path_parent], -1)
        # Slots: a feature's first edge on the path opens one; later edges on it join it.
        same = feature[:, :, None] == feature[:, None, :]  # (leaves, steps, steps)
        first_of = np.argmax(same, axis=1)  # the first edge on each edge's feature
        opens = (first_of == k[None, :]) & valid
        slot = np.take_along_axis(np.cumsum(opens, axis=1) - 1, first_of, axis=1)
        depth = opens.sum(axis=1)
        z = np.ones((len(leaves), steps))
        for s in range(steps):
            z[:, s] = np.prod(np.where((slot == s) & valid, fraction, 1.0), axis=1)
        return cls(
            leaf_value=ensemble.leaf_value[leaves].astype(np.float64),
            depth=depth.astype(np.intp),
            length=length.astype(np.intp),
            z=z[k[None, :] < depth[:, None]],
            slot_feature=feature[opens].astype(np.intp),
            edge_slot=slot[valid].astype(np.intp),
            edge_parent=path_parent[valid],
            edge_left=path_left[valid],
            constant=constant,
        )


def _rows_of(paths: _Paths, leaf_start: np.ndarray, size: int) -> np.ndarray:
    """For each leaf and each bitmask of its edges the row follows: the table row of ``O``,
    the slots all of whose edges are in the mask."""
    out = np.empty(size, dtype=np.intp)
    first_edge = np.concatenate([[0], np.cumsum(paths.length)[:-1]]).astype(np.intp)
    mask_start = np.concatenate([[0], np.cumsum(2**paths.length)[:-1]]).astype(np.intp)
    for e in np.unique(paths.length).tolist():
        leaves = np.flatnonzero(paths.length == e)
        slot = paths.edge_slot[first_edge[leaves, None] + np.arange(e)]  # (n, e)
        masks = np.arange(2**e)
        failed = np.zeros((len(leaves), 2**e), dtype=np.intp)  # slots with an edge missed
        for edge in range(e):
            missed = ((masks >> edge) & 1) == 0
            failed |= np.outer(1 << slot[:, edge], missed)
        every = (1 << paths.depth[leaves, None]) - 1
        at = mask_start[leaves, None] + masks[None, :]
        out[at] = leaf_start[leaves, None] + (every & ~failed)
    return out


def _input_feature(ensemble: TreeEnsemble) -> np.ndarray:
    """The input column each node tests: a categorical split's virtual column and a missing
    value's second half of the widened input both belong to the feature they encode."""
    width = ensemble.n_features + len(ensemble.categorical_features)
    internal = ensemble.column % width
    virtual = internal >= ensemble.n_features
    internal[virtual] = ensemble.categorical_features[internal[virtual] - ensemble.n_features]
    return ensemble.feature_order[internal]


def _table(
    paths: _Paths, leaf_start: np.ndarray, rows: int, n_features: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every leaf's contribution to every feature for each bitmask ``O`` of its slots, and
    each leaf's share of the expected value (``v * prod(z)``; the last entry: the single-leaf
    trees)."""
    table = np.zeros((rows, n_features))
    expected = np.zeros(len(paths.depth) + 1)
    expected[-1] = paths.constant
    first_slot = np.concatenate([[0], np.cumsum(paths.depth)[:-1]]).astype(np.intp)
    for d in np.unique(paths.depth).tolist():
        leaves = np.flatnonzero(paths.depth == d)
        slots = first_slot[leaves, None] + np.arange(d)  # (n, d)
        z = paths.z[slots]
        v = paths.leaf_value[leaves, None]
        subsets = np.arange(2**d)
        member = ((subsets[:, None] >> np.arange(d)) & 1).astype(bool)  # (2**d, d): j in S
        product = np.ones((len(leaves), 2**d))  # prod of z over U - S, for each S
        for j in range(d):
            product *= np.where(member[:, j], 1.0, z[:, j, None])
        weight = np.array(
            [math.factorial(k) * math.factorial(d - k - 1) / math.factorial(d) for k in range(d)]
            + [0.0]  # S = U never counts: i is always outside S
        )
        h = product * weight[member.sum(axis=1)]
        for bit in range(d):  # the sum over the subsets of each P, one feature at a time
            view = h.reshape(len(leaves), 2 ** (d - bit - 1), 2, 2**bit)
            view[:, :, 1, :] += view[:, :, 0, :]
        h *= v
        # slot k, pattern O: (1 - z_k) / z_k * h[O - k] if k in O, else -h[O].
        ratio = (1.0 - z) / z
        table_rows = leaf_start[leaves, None] + subsets  # (n, 2**d)
        for k in range(d):
            table[table_rows, paths.slot_feature[slots[:, k, None]]] = np.where(
                member[:, k], ratio[:, k, None] * h[:, subsets & ~(1 << k)], -h
            )
        expected[leaves] = v[:, 0] * product[:, 0]
    return table, expected
