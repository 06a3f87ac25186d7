"""One chunk of users and the order in which its random draws are made."""

from __future__ import annotations

import numpy as np

from core.demo.arrays import digits, fixed_width
from core.demo.campaign import CampaignMixin
from core.demo.events import EventsMixin
from core.demo.experiments import ExperimentsMixin
from core.demo.tags import TagsMixin
from core.demo.users import UsersMixin
from core.demo.world import World


# ---------------------------------------------------------------- one chunk
class Chunk(UsersMixin, EventsMixin, ExperimentsMixin, CampaignMixin, TagsMixin):
    """Users first..first+n-1: their attributes, events, tags and experiment assignments."""

    def __init__(self, world: World, seed: int, index: int, first: int, n: int) -> None:
        self.w = world
        self.seed, self.index = seed, index
        self.n = n
        self.rng = np.random.default_rng([seed, index])
        self.g = np.arange(first, first + n, dtype=np.int64)  # 0-based global index
        self.user_ids = fixed_width(np.hstack([np.full((n, 1), ord("u"), np.uint8), digits(self.g + 1, 8)]))
        self._members()
        self._ev: dict[str, list[np.ndarray]] = {k: [] for k in ("u", "ev", "ts", "amount", "cat", "ch", "camp")}
        self._browse()
        self._purchases()
        self._cake_birthdays()
        self._member_joins()
        self._finish_events(campaigns_later=True)
        self._experiments()
        self._finish_events(campaigns_later=True)  # the campaign's audience counts the experiments' purchases too
        self._campaign()
        self._finish_events(campaigns_later=False)
        self._tags()
