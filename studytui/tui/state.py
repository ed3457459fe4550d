"""What the screens show, computed once per change: statuses and N-of-M for every branch.

Plain Python (no Textual): the app rebuilds a StudyState when the store changes (its own
writes, or the CLI's, noticed through `data_version`) and every screen reads from it.
Branch ids: an item's key (`course/item`), `course:ID`, `section:COURSE/SECTION`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from studytui.curriculum.model import Curriculum, Item
from studytui.study import FINISHED, effective_statuses


def course_node(course_id: str) -> str:
    return f"course:{course_id}"


def section_node(course_id: str, section_id: str) -> str:
    return f"section:{course_id}/{section_id}"


@dataclass
class StudyState:
    curriculum: Curriculum
    progress: dict = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    time_by_key: dict[str, int] = field(default_factory=dict)
    # branch id -> (done leaves, finished leaves (done or skipped), all leaves)
    counts: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    @classmethod
    def compute(cls, curriculum: Curriculum, store) -> "StudyState":
        progress = store.progress()
        statuses = effective_statuses(curriculum, progress)
        state = cls(curriculum, progress, statuses, store.time_by_key())
        state._count()
        return state

    def _count(self) -> None:
        counts = self.counts

        def visit(item: Item) -> tuple[int, int, int]:
            if not item.children:
                s = self.statuses.get(item.key, "todo")
                c = (int(s == "done"), int(s in FINISHED), 1)
            else:
                parts = [visit(ch) for ch in item.children]
                c = tuple(sum(p[i] for p in parts) for i in range(3))  # type: ignore[assignment]
            counts[item.key] = c
            return c

        for course in self.curriculum.courses:
            course_total = [0, 0, 0]
            for section in course.sections:
                sec = [0, 0, 0]
                for item in section.items:
                    for i, v in enumerate(visit(item)):
                        sec[i] += v
                counts[section_node(course.id, section.id)] = tuple(sec)  # type: ignore[assignment]
                for i in range(3):
                    course_total[i] += sec[i]
            counts[course_node(course.id)] = tuple(course_total)  # type: ignore[assignment]

    def status(self, key: str) -> str:
        return self.statuses.get(key, "todo")
