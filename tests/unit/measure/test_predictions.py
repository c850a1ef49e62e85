"""Per-row predictions survive bytes, and hostile bytes are refused."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest

from hokusai_action.measure import MeasureError, Predictions, predictions, rounded
from hokusai_action.measure.predictions import check, from_bytes, to_bytes


def _npz(**arrays) -> bytes:
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


@pytest.mark.parametrize(
    "pred",
    [
        Predictions(np.array([0, 1, 1]), np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]]),
                    np.array([0, 1])),
        Predictions(np.array(["cat", "dog", "cat"]), None, None),
        Predictions(np.array([1.5, -2.0, 3.25]), None, None),
    ],
)  # fmt: skip
def test_predictions_round_trip_through_bytes(pred):
    back = from_bytes(to_bytes(pred))
    np.testing.assert_array_equal(back.labels, pred.labels)
    assert back.labels.dtype == pred.labels.dtype
    if pred.proba is None:
        assert back.proba is None
        assert back.classes is None
    else:
        np.testing.assert_array_equal(back.proba, pred.proba)
        np.testing.assert_array_equal(back.classes, pred.classes)


def test_an_npz_holding_an_object_array_is_refused():
    data = _npz(labels=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(MeasureError, match=r"cannot be read as an \.npz of plain arrays"):
        from_bytes(data)


def test_a_pickle_is_refused():
    with pytest.raises(MeasureError, match="cannot be read"):
        from_bytes(pickle.dumps(np.array([1, 2])))


def test_an_npz_with_unknown_arrays_is_refused():
    with pytest.raises(MeasureError, match=r"not an \.npz of labels"):
        from_bytes(_npz(labels=np.array([1]), payload=np.array([2])))


def test_a_zip_bomb_is_refused_before_it_is_unpacked(monkeypatch):
    monkeypatch.setattr(predictions, "MAX_BYTES", 64 * 1024)  # a smaller bound, a smaller bomb
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("labels.npy", b"\0" * (1024 * 1024))
    with pytest.raises(MeasureError, match="unpack to more than"):
        from_bytes(out.getvalue())


@pytest.mark.parametrize(
    ("pred", "rows", "message"),
    [
        (Predictions(np.array([1.0, np.nan]), None, None), 2, "not finite"),
        (Predictions(np.array([1, 2, 3]), None, None), 2, "3 predictions for 2 rows"),
        (Predictions(np.array([[1, 2]]), None, None), 1, "not one prediction per row"),
        (Predictions(np.array([b"x"]), None, None), 1, "not numbers or strings"),
        (Predictions(np.array([1]), np.array([[1.5, -0.5]]), np.array([0, 1])), 1,
         "not probabilities"),
        (Predictions(np.array([1]), np.array([[0.5, 0.5]]), np.array([0, 1, 2])), 1,
         "one probability per row and class"),
        (Predictions(np.array([1]), np.array([[0.5, 0.5]]), None), 1, "without their classes"),
    ],
)  # fmt: skip
def test_output_that_scoring_cannot_read_is_refused(pred, rows, message):
    with pytest.raises(MeasureError, match=message):
        check(pred, rows)


def test_rounded_keeps_twelve_significant_digits():
    assert rounded(0.1 + 0.2) == 0.3
    assert rounded(123456.7890123456) == 123456.789012
    assert rounded(float("inf")) == float("inf")
