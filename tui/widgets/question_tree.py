"""The question set as a tree by standard, each question marked with its state."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from question_sets import Question, QuestionSet

NA = "na"


def mark(question: Question, value: str | None, applies: bool) -> Text:
    """A question's line: ✓ + code when answered, · when not, greyed when n/a by rule."""
    if not applies:
        return Text.assemble(("–  ", "dim"), ("n/a by rule · ", "dim"),
                             (question.label, "dim italic"))
    if value is None:
        return Text.assemble(("·  ", "bold"), ("      ", ""), question.label)
    if value == NA:
        return Text.assemble(("na ", "italic"), ("      ", ""), question.label)
    code = value if len(value) <= 5 else value[:4] + "…"
    return Text.assemble(("✓  ", "bold green"), (f"{code:<6}", "green"), question.label)


class QuestionTree(Tree[str]):
    """Standards (sections) with their questions; node data is the question id.

    It takes no focus: the case screen owns the keys (j/k, ]/[), and the tree follows.
    """

    can_focus = False

    def __init__(self, qs: QuestionSet, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None, disabled: bool = False) -> None:
        super().__init__("Questions", name=name, id=id, classes=classes, disabled=disabled)
        self.qs = qs
        self.show_root = False
        self.guide_depth = 2
        self._question_nodes: dict[str, TreeNode[str]] = {}
        self._section_nodes: dict[str, TreeNode[str]] = {}
        for section in qs.sections:
            node = self.root.add(section.title, data=f"section:{section.id}", expand=True)
            self._section_nodes[section.id] = node
            for q in section.questions:
                self._question_nodes[q.id] = node.add_leaf(q.label, data=q.id)

    def refresh_marks(self, values: Mapping[str, str | None],
                      applicable: Mapping[str, bool]) -> None:
        """Relabel every question (and each standard with its answered count)."""
        for section in self.qs.sections:
            done = total = 0
            for q in section.questions:
                applies = applicable.get(q.id, True)
                value = values.get(q.id)
                self._question_nodes[q.id].set_label(mark(q, value, applies))
                if applies:
                    total += 1
                    done += value is not None
            self._section_nodes[section.id].set_label(Text.assemble(
                (f"{section.id} {section.title}", "bold"), (f"  {done}/{total}", "dim")))

    def show_question(self, qid: str) -> None:
        """Put the cursor on a question and scroll it into view."""
        node = self._question_nodes[qid]
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)
