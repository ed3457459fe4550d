"""Reference figures from the curriculum to set beside a learner's run.

The speed-up ladder item of the built-in curriculum keeps one learner's measured
tokens/sec per rung as data (`data.ladder`, rung names as in the gpt-ladder lab). Any
curriculum item paired with the `gpt-ladder` lab that carries such data serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studytui.curriculum.model import Curriculum


@dataclass(frozen=True)
class LadderReference:
    item_key: str
    source: str
    rungs: dict[str, dict[str, Any]]  # rung name -> {"tok_per_s", "ms_per_step", ...}

    def speedup_fp32(self, rung: str) -> float | None:
        base = self.rungs.get("fp32", {}).get("tok_per_s")
        mine = self.rungs.get(rung, {}).get("tok_per_s")
        return mine / base if base and mine else None


def ladder_reference(curriculum: Curriculum) -> LadderReference | None:
    for item in curriculum.items():
        data = item.data if isinstance(item.data, dict) else {}
        rows = data.get("ladder")
        if item.lab == "gpt-ladder" and isinstance(rows, list):
            rungs = {str(r["rung"]): r for r in rows if isinstance(r, dict) and "rung" in r}
            return LadderReference(item.key, str(data.get("source", item.title)), rungs)
    return None
