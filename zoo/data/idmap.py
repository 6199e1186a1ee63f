"""Raw ids (any integers) <-> contiguous row indices."""
import numpy as np


class IdMap:
    """Sorted unique raw ids; a raw id's index is its position. ``IdMap(raw).index(raw)`` maps a whole array."""

    def __init__(self, raw_ids):
        self.ids = np.unique(np.asarray(raw_ids))

    @classmethod
    def fit(cls, raw_ids):
        """``(IdMap(raw_ids), its indices of raw_ids)``. Non-negative integer ids no larger than a few times their
        count (MovieLens's) are counted into a table of every id up to the largest, without a sort; others take
        one sort, not a sort and a search."""
        raw = np.asarray(raw_ids).reshape(-1)
        if raw.dtype.kind in "iu" and len(raw) and raw.min() >= 0 and raw.max() < 4 * len(raw) + (1 << 16):
            present = np.zeros(int(raw.max()) + 1, bool)
            present[raw] = True
            position = np.cumsum(present, dtype=np.int64) - 1  # an id's index among the ids present
            return cls(np.flatnonzero(present).astype(raw.dtype)), position[raw].astype(np.int32)
        ids, inverse = np.unique(raw, return_inverse=True)
        return cls(ids), inverse.reshape(-1).astype(np.int32)  # (ids already sorted and unique: cheap)

    def __len__(self):
        return len(self.ids)

    def index(self, raw_ids):
        """Indices (int32) of raw ids; raises KeyError naming the first unknown id."""
        raw_ids = np.asarray(raw_ids)
        pos = np.searchsorted(self.ids, raw_ids).clip(0, max(len(self.ids) - 1, 0))
        known = self.ids[pos] == raw_ids if len(self.ids) else np.zeros(raw_ids.shape, bool)
        if not np.all(known):
            raise KeyError("unknown id %r" % (np.atleast_1d(raw_ids)[~np.atleast_1d(known)][0].item(),))
        return pos.astype(np.int32)

    def __contains__(self, raw_id):
        pos = np.searchsorted(self.ids, raw_id)
        return pos < len(self.ids) and self.ids[pos] == raw_id
