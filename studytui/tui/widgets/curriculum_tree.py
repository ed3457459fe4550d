"""Courses -> sections -> items, with a status mark and N-of-M on every branch.

Built lazily: only the courses exist at first, and a branch gets its children when it is
first expanded. A 10,000-item curriculum costs a few dozen tree nodes at start-up, not
10,000. Node data is the branch id of StudyState (`course:ID`, `section:C/S`, or an
item key).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from studytui.curriculum.model import Item
from studytui.safetext import clean
from studytui.tui.format import distinct_titles
from studytui.tui.glyphs import Glyphs, status_mark
from studytui.tui.state import StudyState, course_node, section_node

STATUS_STYLE = {"done": "green", "doing": "yellow", "skipped": "dim", "todo": ""}


class CurriculumTree(Tree[str]):
    def __init__(self, **kwargs):
        super().__init__("Curriculum", **kwargs)
        self.show_root = False
        self.guide_depth = 2
        self._filled: set[str] = set()
        self._branches: dict[str, TreeNode[str]] = {}
        self._shown_titles: dict[str, str] = {}  # item key -> title told apart from its siblings
        self.state: StudyState | None = None
        self.g: Glyphs | None = None

    # -- building --------------------------------------------------------------------------
    def load(self, state: StudyState, g: Glyphs) -> None:
        """First fill, or a redraw after a change: labels update, built branches stay."""
        self.state, self.g = state, g
        self.ICON_NODE, self.ICON_NODE_EXPANDED = g.node_closed, g.node_open
        if not self._branches:
            for course in state.curriculum.courses:
                self._add(self.root, course_node(course.id), bool(course.sections))
            return
        for node_id, node in self._branches.items():
            node.set_label(self.label_for(node_id))

    def _add(self, parent: TreeNode[str], node_id: str, expandable: bool) -> TreeNode[str]:
        if expandable:
            node = parent.add(self.label_for(node_id), data=node_id)
        else:
            node = parent.add_leaf(self.label_for(node_id), data=node_id)
        self._branches[node_id] = node
        return node

    def fill(self, node: TreeNode[str]) -> None:
        node_id = node.data
        if node_id is None or node_id in self._filled or self.state is None:
            return
        self._filled.add(node_id)
        cur = self.state.curriculum
        if node_id.startswith("course:"):
            course = cur.course(node_id[len("course:") :])
            for section in course.sections if course else ():
                self._add(node, section_node(course.id, section.id), bool(section.items))
        elif node_id.startswith("section:"):
            course_id, section_id = node_id[len("section:") :].split("/", 1)
            course = cur.course(course_id)
            section = next((s for s in course.sections if s.id == section_id), None) if course else None
            self._add_items(node, section.items if section else ())
        else:
            item = cur.items_by_key.get(node_id)
            self._add_items(node, item.children if item else ())

    def _add_items(self, node: TreeNode[str], items) -> None:
        g = self.g
        shown = distinct_titles([clean(i.title) for i in items], g.ellipsis if g else "...")
        for item, title in zip(items, shown):
            self._shown_titles[item.key] = title
            self._add(node, item.key, bool(item.children))

    def _on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        self.fill(event.node)

    # -- labels ---------------------------------------------------------------------------
    def label_for(self, node_id: str) -> Text:
        state, g = self.state, self.g
        assert state is not None and g is not None
        cur = state.curriculum
        done, finished, total = state.counts.get(node_id, (0, 0, 0))
        if node_id.startswith("course:"):
            course = cur.course(node_id[len("course:") :])
            text = Text(clean(course.title if course else node_id), style="bold")
        elif node_id.startswith("section:"):
            course_id, section_id = node_id[len("section:") :].split("/", 1)
            course = cur.course(course_id)
            section = next((s for s in course.sections if s.id == section_id), None) if course else None
            text = Text(clean(section.title if section else section_id), style="bold")
        else:
            item: Item | None = cur.items_by_key.get(node_id)
            status = state.status(node_id)
            text = Text(status_mark(g, status) + " ", style=STATUS_STYLE[status])
            title = self._shown_titles.get(node_id) or clean(item.title if item else node_id)
            text.append(title, style="dim" if status == "skipped" else "")
            if item is None or not item.children:
                return text
        text.append(f"  {done}/{total}", style="green" if total and finished == total else "dim")
        return text

    # -- going to a node --------------------------------------------------------------------
    def path_to(self, node_id: str) -> list[str]:
        """Branch ids from the course down to node_id (inclusive)."""
        state = self.state
        if state is None:
            return []
        cur = state.curriculum
        if node_id.startswith("course:"):
            return [node_id]
        if node_id.startswith("section:"):
            return [course_node(node_id[len("section:") :].split("/", 1)[0]), node_id]
        item = cur.items_by_key.get(node_id)
        if item is None:
            return []
        chain = [item.key]
        parent = item.parent_key
        while parent:
            chain.append(parent)
            parent = cur.items_by_key[parent].parent_key
        top = cur.items_by_key[chain[-1]]
        return [course_node(item.course_id), section_node(item.course_id, top.section_id)] + chain[::-1]

    def reveal(self, node_id: str) -> TreeNode[str] | None:
        """Build and expand the branches down to a node, then move the cursor there (after
        the next refresh: a node has no line in the tree until the tree is laid out again)."""
        path = self.path_to(node_id)
        node = None
        for i, step in enumerate(path):
            node = self._branches.get(step)
            if node is None:
                return None
            if i < len(path) - 1:
                self.fill(node)
                node.expand()
        if node is not None:
            self.call_after_refresh(self._move_to, node)
        return node

    def _move_to(self, node: TreeNode[str]) -> None:
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)
