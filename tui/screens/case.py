"""Rating one case: profile at the top, question tree on the left, question on the right.

Every answer goes to the database the moment its key is pressed (one small transaction
through `audit.cases`); notes are saved when the box is left and kept as drafts every
few seconds while typing. The profile is shown read-only (`ProfileSummary`) until the
inspector enters it (`p`, a click, focus): only then is its form built. Edits carry the
version and the value displayed, so another inspector's change is shown as a conflict
instead of being overwritten.

The lifecycle is the use cases' (`audit.lifecycle`): the first change to a signed-off
case, and unlocking a locked one, asks for a reason in a dialog and then goes through;
`u` undoes the last answer or note change. Status keys, reasons and undo are in
`tui/screens/case_lifecycle.py`; data queries (`q`, and ⚑ in the question list) in
`tui/screens/case_queries.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from rich.markup import escape
from textual import events, on, work
from textual.actions import parse as parse_action
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Header, Input, OptionList, Select, Static, TextArea

from audit import cases, drafts, lifecycle, qa_rules, rules
from audit.cases import CaseView, Change, ReasonRequired
from audit.errors import AuditError, ConflictError
from audit.formatting import format_count
from audit.rule_words import asked_because
from audit.text_rules import is_long
from audit.views import queries as query_views
from audit.views.caselist import next_to_rate
from audit.views.my_cases import next_case_id
from audit.views.qa import blind_case
from audit.views.queries import QueryRow
from question_sets import Question
from question_sets.profile import CASE_STATUS, PROFILE
from tui.screens.case_queries import CaseQueries
from tui.screens.modals import (
    ConflictModal,
    DraftsModal,
    Resolution,
)
from tui.widgets.key_footer import KeyFooter
from tui.widgets.profile_form import ProfileForm, ProfileSummary
from tui.widgets.question_panel import NoteArea, PanelState, QuestionPanel
from tui.widgets.question_tree import QuestionTree
from tui.workspace import Workspace

DRAFT_EVERY_S = 3.0
# Keys shown only to those the use case would let through (it checks again).
KEY_PERMISSIONS = {"qa_checked": "qa_check", "moderated": "moderate_case",
                   "toggle_lock": "lock"}
DISPLAYED: Any = object()  # "what the screen shows" (None is a real value: empty)
RATER_TITLES = {"primary": "Rating", "qa": "Blind QA rating (primary answers hidden)",
                "moderated": "Moderation"}
ANSWER_ACTIONS = {"answer", "choose", "clear", "next", "previous", "next_section",
                  "previous_section", "complete", "qa_checked", "moderated", "toggle_lock",
                  "profile", "disagreements", "type_answer", "undo", "next_unanswered",
                  "complete_next", "guidance", "query"}
LETTERS = {"y": "yes", "n": "no", "a": "na"}
# Narrower or lower than this, the profile and the guidance are behind keys (p, g) so
# that the question, its choices and the note box fit.
COMPACT_BELOW = (110, 34)


@dataclass
class CaseLoaded(Message):
    """The worker read the case (and its data queries)."""

    view: CaseView
    queries: list[QueryRow]


@dataclass
class CaseRefused(Message):
    """The use case refused to show the case to this person (words for them)."""

    text: str


class CaseScreen(CaseQueries):
    """Rate one case with single keys; nothing typed is ever lost."""

    PALETTE_GROUP = "Case"
    AUTO_FOCUS = ""  # the screen itself takes the keys; the note box only when asked
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer('yes')", "Yes", id="case.yes"),
        Binding("n", "answer('no')", "No", id="case.no"),
        Binding("a", "answer('na')", "N/A", id="case.na"),
        Binding("1", "choose(1)", "Choice", key_display="1-9", id="case.choice", show=False),
        *[Binding(str(d), f"choose({d})", f"Choice {d}", show=False, id=f"case.choice{d}")
          for d in range(2, 10)],
        Binding("x,backspace", "clear", "Clear", id="case.clear"),
        Binding("u", "undo", "Undo", id="case.undo"),
        Binding("j,down", "next", "Next", key_display="j/↓", id="case.next"),
        Binding("k,up", "previous", "Previous", key_display="k/↑", id="case.previous",
                show=False),
        Binding("right_square_bracket", "next_section", "Next standard", key_display="]",
                id="case.next_standard"),
        Binding("left_square_bracket", "previous_section", "Previous standard",
                key_display="[", id="case.previous_standard", show=False),
        Binding("space,tab", "next_unanswered", "Next unanswered", key_display="space",
                id="case.next_unanswered"),
        Binding("e", "edit_note", "Note", id="case.note"),
        Binding("g", "guidance", "Guidance", id="case.guidance"),
        Binding("enter", "type_answer", "Type answer", id="case.type_answer", show=False),
        Binding("p", "profile", "Profile", id="case.profile", show=False),
        Binding("c", "complete", "Complete", id="case.complete"),
        Binding("N", "complete_next", "Complete → next case", id="case.complete_next"),
        Binding("C", "qa_checked", "QA-checked", id="case.qa_checked"),
        Binding("M", "moderated", "Moderated", id="case.moderated", show=False),
        Binding("L", "toggle_lock", "Lock/unlock", id="case.lock"),
        Binding("D", "disagreements", "Disagreements", id="case.disagreements", show=False),
        Binding("q", "query", "Query", id="case.query"),
        Binding("escape", "back", "Back", id="case.back"),
    ]

    def __init__(self, case_id: int, *, rater: str = "primary",
                 first: CaseView | None = None, question: str | None = None) -> None:
        super().__init__()
        self.case_id = case_id
        self.rater = rater
        self.first = first  # the view read before the screen opened (see `read`)
        self.start_at = question  # the question to open at (from the Queries screen)
        self.queries: list[QueryRow] = []  # the case's data queries (marks, `q`)
        self.first_queries: list[QueryRow] | None = None
        self.view: CaseView | None = None
        self.qa_missing: list[str] = []  # blind QA: QA questions still to answer
        self.version = 0
        self.values: dict[str, str | None] = {}
        self.notes: dict[str, str | None] = {}
        self.applicable: dict[str, bool] = {}
        self.current = ""
        self.note_qid: str | None = None  # the question whose note is in the box
        self.draft_text: str | None = None  # last text kept as a draft
        self.last_saved = ""
        self.hint = ""  # why a key did nothing, or what to do next (the status line)
        self.guidance_shown: bool | None = None  # None: as the terminal's size allows
        self._acting: tuple[bool, ...] = ()  # the keys the footer last showed as acting
        self._keys_pending = False
        self.profile_form: ProfileForm | None = None  # built when entered (enter_profile)
        self.form_ready = False  # ... and composed
        if first is None:
            # From the start, not from on_mount: keys may reach the screen before it is
            # mounted, and they must be dropped too.
            self.begin_loading("the case was opening")

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        # The form is built when entered (`enter_profile`): it was half of opening a case.
        yield ProfileSummary(id="profile")
        with Horizontal(id="case-body"):
            yield QuestionTree(self.ws.qs, id="tree")
            yield QuestionPanel(id="panel")
        yield Static("", id="case-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.current = self.ws.qs.questions[0].id
        self.fit(self.size.width, self.size.height)
        self.set_interval(DRAFT_EVERY_S, self.keep_draft)
        if self.first is not None:
            self.opened()
            return
        # Read in a worker: the screen is drawn at once, says it is opening, and drops
        # the keys typed meanwhile (they would otherwise act on this case, unseen).
        self.query_one("#case-body").loading = True
        self.key_dropped()
        self.load_view()

    @work(thread=True, exclusive=True, exit_on_error=False, group="case-open",
          description="Opening the case")
    def load_view(self) -> None:
        try:
            view = self.read(self.ws, self.case_id, self.rater)
            found = self.read_queries()
        except AuditError as exc:
            self.post_message(CaseRefused(str(exc)))
            return
        self.post_message(CaseLoaded(view, found))

    def key_dropped(self) -> None:
        dropped = f" · {self.keys_dropped} key(s) ignored" if self.keys_dropped else ""
        self.query_one("#case-status", Static).update(
            f"Opening the case… keys typed now are ignored{dropped}")

    @on(CaseLoaded)
    def case_loaded(self, message: CaseLoaded) -> None:
        self.first = message.view
        self.first_queries = message.queries
        self.opened()

    @on(CaseRefused)
    def case_refused(self, message: CaseRefused) -> None:
        self.loading_what = ""
        self.notify(message.text, title="Not opened", severity="error")
        self.app.pop_screen()

    def worker_error(self, worker: Any, error: BaseException) -> None:
        if self.view is None and self.is_current:
            self.loading_what = ""
            self.app.pop_screen()  # the case never opened (the failure is notified)

    def opened(self) -> None:
        """The case is read: show it, go to the first question, take keys."""
        self.reload()
        if self.view is None:
            return  # refused: the screen is closing
        self.query_one("#case-body").loading = False
        first = self._step(self.current, 0)
        start = self.start_at if self.start_at and self.start_at in self.ws.qs else None
        self.goto(start or first or self.current)
        self.end_loading()
        self.offer_drafts()

    def on_resize(self, event: events.Resize) -> None:
        self.fit(event.size.width, event.size.height)

    def fit(self, width: int, height: int) -> None:
        """Small terminals: profile and guidance behind keys, so rating fits."""
        compact = width < COMPACT_BELOW[0] or height < COMPACT_BELOW[1]
        changed = compact != self.has_class("compact")
        self.set_class(compact, "compact")
        shown = self.guidance_shown if self.guidance_shown is not None else not compact
        self.set_class(not shown, "no-guidance")
        if changed and self.view is not None:
            self.update_status()  # its tail (site and rater, or the p hint) follows the size

    # -- state -----------------------------------------------------------------------------

    @staticmethod
    def read(ws: Workspace, case_id: int, rater: str) -> CaseView:
        """The case as this rating shows it: blind QA gets the QA answers only. The use
        case refuses what this person may not see (AuditError)."""
        if rater == "qa":
            return blind_case(ws.db, case_id, actor=ws.actor).view
        return cases.load_case(ws.db, case_id, actor=ws.actor)

    def reload(self) -> None:
        """Read the case again (after opening, a rebased edit, or taking theirs)."""
        if self.first is not None:
            view, self.first = self.first, None
        else:
            try:
                view = self.read(self.ws, self.case_id, self.rater)
            except AuditError as exc:  # e.g. its blind QA was started by this person since
                self.notify(str(exc), title="Case closed", severity="error")
                self.app.pop_screen()
                return
        self.view = view
        self.version = view.version
        if self.first_queries is not None:
            self.queries, self.first_queries = self.first_queries, None
        else:
            self.queries = self.read_queries()
        mine = view.answers.get(self.rater, {})
        self.values = {q: a.value for q, a in mine.items()}
        self.notes = {q: a.note for q, a in mine.items()}
        self.sub_title = f"{view.case_ref} · {RATER_TITLES.get(self.rater, self.rater)}"
        self.show_profile(view.profile)
        self.refresh_rules()
        if self.current:
            self.show_current(reset_note=not self.query_one(NoteArea).has_focus)

    def refresh_rules(self) -> None:
        """Re-evaluate every applies_when rule and relabel the tree."""
        assert self.view is not None
        self.applicable = rules.applicable(self.ws.qs, self.view.rule_case(), self.values)
        if self.rater == "qa":
            self.qa_missing = qa_rules.qa_missing(self.ws.qs, self.view.rule_case(),
                                                  self.values)
        self.query_one(QuestionTree).refresh_marks(
            self.values, self.applicable, {q for q, n in self.notes.items() if n},
            query_views.unclosed_by_question(self.queries, self.rater))
        self.update_status()

    def read_queries(self) -> list[QueryRow]:
        """The case's data queries this person may see (none for a role that may not)."""
        if not self.ws.may("read_cases"):
            return []
        return query_views.case_queries(self.ws.db, self.case_id, actor=self.ws.actor)

    def missing(self) -> list[str]:
        """Required questions that apply and have no answer yet, in set order."""
        assert self.view is not None
        return rules.missing_required(self.ws.qs, self.view.rule_case(), self.values)

    def can_finish(self) -> bool:
        """Whether `N` (complete and open the next case) may act now."""
        return (self.view is not None and self.rater == "primary" and not self.read_only
                and self.view.status in ("not_started", "in_progress") and not self.missing())

    def say(self, hint: str) -> None:
        """Put a line in the status bar (why a key did nothing, what comes next)."""
        self.hint = hint
        if self.view is not None:
            self.update_status()

    def update_status(self) -> None:
        view = self.view
        assert view is not None
        applicable = [q for q in self.ws.qs.questions if self.applicable.get(q.id, True)]
        done = sum(self.values.get(q.id) is not None for q in applicable)
        saved = f" · [green]saved ✓[/green] {escape(self.last_saved)}" if self.last_saved else ""
        if self.locked:
            lock = " · [b]read-only (locked)[/b]"
        elif self.read_only:
            lock = f" · [b]read only — allocated to {escape(view.allocated_to or '?')}[/b]"
        else:
            lock = ""
        if view.due_date is not None and self.rater == "primary":
            lock += f" · due {view.due_date.isoformat()}"
        if self.rater == "qa":
            lock += (f" · blind: primary hidden until {len(self.qa_missing)} more QA "
                     "answer(s)" if self.qa_missing else " · QA complete: D compares")
        # What was saved comes before who and where: on a narrow terminal the line ends
        # there, and the receipt must not be what is cut.
        # A small terminal hides the profile until p, a key the footer has no room for.
        where = ((" · p: profile" if not self.has_class("show-profile") else "")
                 if self.has_class("compact") else
                 f" · {escape(view.site or 'no site')} · {escape(self.ws.who)} ({self.rater})")
        line = (f"[b]{escape(view.case_ref)}[/b] · {CASE_STATUS.get(view.status, view.status)}"
                f"{lock} · {format_count(done)}/{format_count(len(applicable))} answered"
                f"{saved}{where}")
        if self.hint:
            line += f"\n[b]{escape(self.hint)}[/b]"
        elif self.can_finish():
            line += ("\n[b]Every required answer is given: N completes this case and opens "
                     "your next one[/b] (c completes and stays)")
        self.query_one("#case-status", Static).update(line)

    def show_current(self, *, reset_note: bool = True) -> None:
        q = self.question()
        ordered = self.ws.qs.questions
        answer = self.view.answers.get(self.rater, {}).get(q.id) if self.view else None
        applies = self.applicable.get(q.id, True)
        self.query_one(QuestionPanel).show(PanelState(
            q, ordered.index(q) + 1, len(ordered), self.values.get(q.id),
            applies, answer, self.read_only, self.rater == "qa",
            asked_because(self.ws.qs, q.id, applies)))
        if reset_note:
            note = self.query_one(NoteArea)
            stored = self.notes.get(q.id)
            # A note longer than notes may be (stored by an older version) is shown
            # shortened and is not editable: loading it whole would freeze the app, and
            # saving a shortened copy would lose the rest.
            too_long = is_long(stored)
            self.query_one(QuestionPanel).show_long_note(stored if too_long else None)
            note.load_text("" if too_long else stored or "")
            self.note_qid = None if too_long else q.id
            self.draft_text = None
        self.query_one(QuestionTree).show_question(q.id)
        if not self._keys_pending:  # once, after this key's work (an answer moves on)
            self._keys_pending = True
            self.call_later(self.sync_keys)

    def sync_keys(self) -> None:
        """Redraw the footer when the keys that act here change (they depend on the
        question and the case); only then: the footer rebuilds itself on every call."""
        self._keys_pending = False
        acting = tuple(self.check_action(*parse_action(b.action)[1:]) is True
                       for _, b in self._bindings)
        if acting != self._acting:
            self._acting = acting
            self.refresh_bindings()

    def goto(self, qid: str) -> None:
        """Make a question current (saving the note being typed first)."""
        self.commit_note()
        self.current = qid
        self.show_current()

    def _step(self, qid: str, step: int) -> str | None:
        """The next (step 1) / previous (-1) applicable question; step 0: this or next."""
        ids = [q.id for q in self.ws.qs.questions]
        i = ids.index(qid)
        rng = range(i, len(ids)) if step == 0 else (
            range(i + 1, len(ids)) if step > 0 else range(i - 1, -1, -1))
        return next((ids[j] for j in rng if self.applicable.get(ids[j], True)), None)

    def next_unanswered(self) -> str | None:
        """The next applicable unanswered question after the current one (wrapping to
        the start); None when every applicable question has an answer."""
        ids = [q.id for q in self.ws.qs.questions]
        i = ids.index(self.current)
        return next((qid for qid in ids[i + 1:] + ids[:i]
                     if self.applicable.get(qid, True) and self.values.get(qid) is None),
                    None)

    def advance(self) -> None:
        """After an answer (the setting on): on to the next unanswered question."""
        if not self.iom_app.settings.auto_advance:
            return
        following = self.next_unanswered()
        if following is not None:
            self.goto(following)

    # -- keys ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False hides a key from the footer and lets it pass: the footer shows only the
        # keys that act here, and `why_not` says why one did not.
        if self.loading_keys or self.view is None:
            return action == "back"
        if action == "next_unanswered" and self.in_profile():
            return True  # tab moves on through the profile form (action_next_unanswered)
        if action in ANSWER_ACTIONS and isinstance(self.focused, (Input, TextArea, Select)):
            return False  # while typing, letters are text (and the footer says so)
        return self.why_not(action, parameters) is None

    def why_not(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """Why a key cannot act on this question or case now (None: it can)."""
        q = self.question()
        applies = self.applicable.get(q.id, True)
        editable = not self.read_only
        if action == "query":
            return None if self.ws.may("query") else \
                "Your role cannot open or answer data queries."
        if action in KEY_PERMISSIONS:
            if self.rater != "primary" or not self.ws.may(KEY_PERMISSIONS[action]):
                return "Your role cannot do that on this rating."
            return None
        if action in ("answer", "choose", "clear", "type_answer") and not editable:
            return self.read_only_reason
        if action in ("answer", "choose", "type_answer") and not applies:
            return "This question is not asked for this case (see the line under it)."
        typed = q.type in ("text", "integer")
        if action == "answer":
            value = str(parameters[0]) if parameters else ""
            if typed:
                return "This question takes a typed answer: press enter to type it."
            if value == "na" and not q.allows_na:
                return "“Not applicable” is not an answer to this question: y or n."
            if value not in q.codes:
                return f"This question's answers are the digits 1-{len(q.codes)}."
            return None
        if action == "choose":
            number = parameters[0] if parameters else 0
            if typed:
                return "This question takes a typed answer: press enter to type it."
            if not isinstance(number, int) or not 1 <= number <= len(q.codes):
                return f"This question has {len(q.codes)} choices."
            return None
        if action == "type_answer":
            return None if typed else "Answer this question with the keys shown."
        if action == "clear":
            return None if self.values.get(q.id) is not None else "Nothing to clear."
        if action == "edit_note":
            if isinstance(self.focused, TextArea):
                return "You are in the note."
            if not editable:
                return self.read_only_reason
            return None if applies else "No note on this question now."
        if action in ("complete", "undo"):
            ok = self.rater == "primary" or action == "undo"
            if ok and not editable:
                return self.read_only_reason
            return None if ok else "Not on this rating."
        if action == "complete_next":
            if self.can_finish():
                return None
            if self.rater == "primary" and not editable:
                return self.read_only_reason
            if self.view is None or self.rater != "primary" or self.read_only:
                return "Not on this rating."
            if self.view.status not in ("not_started", "in_progress"):
                return (f"This case is already {lifecycle.label(self.view.status)}, "
                        "not to rate: esc goes back to the list.")
            return f"{len(self.missing())} required answer(s) still missing."
        if action == "next_unanswered":
            return None if self.next_unanswered() else "Every question that applies is answered."
        if action == "guidance":
            return None if q.guidance else "This question has no guidance."
        return None

    def on_key(self, event: events.Key) -> None:
        if self.loading_keys:
            return  # IomScreen.on_key (next in line) drops it
        self.hint = ""  # a new key: the last "why not" is old news
        # A key with a binding that cannot act here says why in the status line (its
        # binding is hidden and would otherwise do nothing, silently).
        if self.view is None or isinstance(self.focused, (Input, TextArea, Select)):
            return
        for binding in self._bindings.key_to_bindings.get(event.key, []):
            _, action, params = parse_action(binding.action)
            why = self.why_not(action, params)
            if why is not None:
                self.say(why)
                return

    def action_answer(self, value: str) -> None:
        q = self.question()
        why = self.why_not("answer", (value,))
        if why is not None:
            self.say(why)
            return
        if q.type == "multi_choice":
            self.toggle_choice(q, value)  # several may be chosen: the cursor stays
            return
        if self.write_answer(q.id, value):
            self.advance()

    def action_choose(self, number: int) -> None:
        q = self.question()
        why = self.why_not("choose", (number,))
        if why is not None:
            self.say(why)
            return
        self.action_answer(list(q.codes)[number - 1])

    def action_next_unanswered(self) -> None:
        if self.in_profile():
            self.focus_next()  # tab moves through the profile form as usual
            return
        following = self.next_unanswered()
        if following is None:
            self.say("Every question that applies is answered.")
            return
        self.goto(following)

    def action_complete_next(self) -> None:
        """Complete this case and open the next one still to rate, in case-list order."""
        assert self.view is not None
        ref = self.view.case_ref
        self.set_status("complete")
        if self.view is None or self.view.status != "complete":
            return  # refused (shown) or asked for something: stay
        # Your next allocated case first (as My cases' n), else the next free one.
        following = next_case_id(self.ws.db, self.ws.inspection_id, actor=self.ws.actor)
        if following is None:
            row = next_to_rate(self.ws.db, self.ws.inspection_id, ref, actor=self.ws.actor)
            following = row.id if row is not None else None
        if following is None:
            self.notify("No case is left to rate in this inspection.", title="All rated")
            return
        self.flush()
        self.app.pop_screen()
        self.iom_app.open_case(following)

    def action_guidance(self) -> None:
        shown = not self.has_class("no-guidance")
        self.guidance_shown = not shown
        self.fit(self.size.width, self.size.height)

    def toggle_choice(self, q: Question, code: str) -> None:
        chosen = [c for c in (self.values.get(q.id) or "").split(";") if c]
        chosen = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
        ordered = [c for c in q.codes if c in chosen]  # stored in the set's order
        self.write_answer(q.id, ";".join(ordered) or None)

    def action_clear(self) -> None:
        self.write_answer(self.current, None)

    def action_next(self) -> None:
        following = self._step(self.current, 1)
        if following:
            self.goto(following)

    def action_previous(self) -> None:
        preceding = self._step(self.current, -1)
        if preceding:
            self.goto(preceding)

    def _section_step(self, step: int) -> None:
        sections = self.ws.qs.sections
        here = next(i for i, s in enumerate(sections) if s.id == self.question().section)
        i = here + step
        while 0 <= i < len(sections):
            target = next((q.id for q in sections[i].questions
                           if self.applicable.get(q.id, True)), None)
            if target:
                self.goto(target)
                return
            i += step

    def action_next_section(self) -> None:
        self._section_step(1)

    def action_previous_section(self) -> None:
        self._section_step(-1)

    def action_edit_note(self) -> None:
        if self.in_profile():
            self.focus_next()  # tab moves through the profile form as usual
            return
        note = self.query_one(NoteArea)
        if not note.display:
            self.notify("This note is too long to edit in the app (it is shown shortened).",
                        severity="warning")
            return
        if note.disabled:
            self.notify("No note on a question that does not apply.", severity="warning")
            return
        note.focus()

    def action_type_answer(self) -> None:
        answer_input = self.query_one("#q-input", Input)
        if answer_input.display:
            answer_input.focus()

    async def action_profile(self) -> None:
        await self.enter_profile(None)

    def action_back(self) -> None:
        # One escape leaves the screen, wherever the focus is (the note box takes its own
        # escape first: it leaves the note, saving it); what is typed is saved first.
        if isinstance(self.focused, Input) and self.focused.id == "q-input":
            self.set_focus(None)  # a typed answer not yet entered is not thrown away
            return
        self.flush()
        self.app.pop_screen()

    def action_disagreements(self) -> None:
        self.flush()
        self.iom_app.open_disagreements(self.case_id)

    @on(OptionList.OptionSelected, "#tree")
    def question_picked(self, event: OptionList.OptionSelected) -> None:
        qid = event.option.id
        if qid and not qid.startswith("section:") and not self.loading_keys:
            self.goto(qid)

    @on(Input.Submitted, "#q-input")
    def typed_answer(self, event: Input.Submitted) -> None:
        self.set_focus(None)
        if self.write_answer(self.current, event.value.strip() or None):
            self.advance()

    # -- writing answers -------------------------------------------------------------------

    def write_answer(self, qid: str, value: str | None, *, seen: Any = DISPLAYED,
                     version: int | None = None, reason: str | None = None) -> bool:
        """Store one answer now; the value displayed is what we say we saw. True when
        stored at once (False: refused, or waiting on a dialog)."""
        shown = self.values.get(qid) if seen is DISPLAYED else seen
        try:
            change = cases.record_answer(
                self.ws.db, self.case_id, qid, value, actor=self.ws.actor,
                expected_version=version if version is not None else self.version,
                rater=self.rater, seen=shown, reason=reason)
        except ConflictError as exc:
            theirs, current = exc.theirs.get(qid), exc.current_version
            self.resolve_conflict(f"The answer to {qid}", value, theirs,
                                  lambda: self.write_answer(qid, value, seen=theirs,
                                                            version=current))
            return False
        except ReasonRequired as exc:
            self.ask_reason(exc, lambda why: self.write_answer(qid, value, seen=seen,
                                                               version=version, reason=why))
            return False
        except AuditError as exc:
            self.notify(str(exc), title="Not saved", severity="error")
            return False
        self.values[qid] = value
        if value is None and not self.notes.get(qid):
            self.values.pop(qid, None)
        self.after_change(change, f"{qid} = {value or 'cleared'}")
        return True

    def after_change(self, change: Change, what: str) -> None:
        """Bring the screen up to date after a stored edit."""
        self.version = change.version
        self.last_saved = what
        was = self.view.status if self.view is not None else None
        if change.rebased or change.restored or self.view is None:
            self.reload()  # someone else changed other things, or answers came back
        else:
            for qid in change.cleared:
                self.values.pop(qid, None)
            if change.status is not None:
                self.view = replace(self.view, status=change.status, version=change.version)
            self.refresh_rules()
            self.show_current(reset_note=False)
        self.announce(change, was)

    def resolve_conflict(self, what: str, mine: str | None, theirs: str | None,
                         keep_mine: Any) -> None:
        def decided(choice: Resolution | None) -> None:
            if choice == "mine":
                keep_mine()
            else:
                self.reload()
                self.notify(f"Took theirs: {what} is {theirs or '(empty)'}")

        self.app.push_screen(ConflictModal(what, mine, theirs), decided)

    # -- notes -----------------------------------------------------------------------------

    @on(NoteArea.Left)
    def note_left(self) -> None:
        self.commit_note()

    @on(TextArea.Changed, "#note")
    def note_changed(self, event: TextArea.Changed) -> None:
        # Warn while typing past the cap (save_note refuses such a note).
        self.query_one(QuestionPanel).note_length(len(event.text_area.text))

    def commit_note(self) -> None:
        """Save the note in the box if it differs from what is stored (save_note)."""
        qid = self.note_qid
        if qid is None or not self.is_mounted:
            return
        text = self.query_one(NoteArea).text
        stored = self.notes.get(qid)
        if text.strip() == (stored or "").strip():
            return
        self.write_note(qid, text)

    def write_note(self, qid: str, text: str, *, seen: Any = DISPLAYED,
                   version: int | None = None, reason: str | None = None) -> None:
        stored = self.notes.get(qid) if seen is DISPLAYED else seen
        try:
            change = cases.save_note(self.ws.db, self.case_id, qid, text.strip() or None,
                                     actor=self.ws.actor, rater=self.rater, seen=stored,
                                     expected_version=version if version is not None
                                     else self.version, reason=reason)
        except ReasonRequired as exc:
            # Keep the text as a draft first: the app may be closing, and a note typed
            # on a signed-off case must survive until a reason is given.
            drafts.save_draft(self.ws.db, self.case_id, qid, text, actor=self.ws.actor,
                             rater=self.rater)
            self.draft_text = text
            self.ask_reason(exc, lambda why: self.write_note(qid, text, seen=seen,
                                                             version=version, reason=why),
                            lambda: self.notify("The note is kept as a draft.",
                                                title="Note not saved"))
            return
        except ConflictError as exc:
            theirs, current = exc.theirs.get(f"{qid} note"), exc.current_version
            self.resolve_conflict(f"The note on {qid}", text, theirs,
                                  lambda: self.write_note(qid, text, seen=theirs,
                                                          version=current))
            return
        except AuditError as exc:
            self.notify(str(exc), title="Note not saved", severity="error")
            return
        self.notes[qid] = text.strip() or None
        self.draft_text = None
        self.after_change(change, f"note on {qid}")

    def keep_draft(self) -> None:
        """Every few seconds while typing: keep the text as a draft (save_draft)."""
        note = self.query_one(NoteArea)
        qid = self.note_qid
        if qid is None or not note.has_focus:
            return
        text = note.text
        if text == self.draft_text or text.strip() == (self.notes.get(qid) or "").strip():
            return
        try:
            drafts.save_draft(self.ws.db, self.case_id, qid, text, actor=self.ws.actor,
                             rater=self.rater)
        except AuditError as exc:
            self.notify(str(exc), title="Draft not kept", severity="error")
            return
        self.draft_text = text

    def flush(self) -> None:
        """Save what is typed (leaving the screen, quitting, SIGTERM/SIGHUP)."""
        self.commit_note()

    def offer_drafts(self) -> None:
        found = drafts.drafts(self.ws.db, self.case_id, actor=self.ws.actor, rater=self.rater)
        if not found:
            return

        def decided(restore: bool | None) -> None:
            for qid, text in found.items():
                if restore and qid in self.ws.qs:
                    self.write_note(qid, text)
                else:
                    drafts.discard_draft(self.ws.db, self.case_id, qid, actor=self.ws.actor,
                                        rater=self.rater)
            self.show_current()

        self.app.push_screen(DraftsModal(found), decided)

    # -- profile ---------------------------------------------------------------------------

    def profile_editable(self) -> bool:
        return self.rater == "primary" and not self.read_only

    def show_profile(self, profile: dict[str, Any]) -> None:
        """Show stored values in the form once it is built, else in the summary."""
        if self.profile_form is None or not self.form_ready:
            self.query_one(ProfileSummary).show(profile)
            return
        self.profile_form.show(profile)
        self.profile_form.set_read_only(not self.profile_editable())

    def in_profile(self) -> bool:
        """Whether the focus is in the profile form."""
        return self.focused is not None and any(
            isinstance(w, ProfileForm) for w in self.focused.ancestors)

    @on(ProfileSummary.Enter)
    async def summary_entered(self, event: ProfileSummary.Enter) -> None:
        await self.enter_profile(event.code, click=event.click)

    async def enter_profile(self, code: str | None, *, click: bool = False) -> None:
        """Show the profile (a small terminal hides it until asked) and, where it may be
        changed, build its form in the summary's place and focus a field (the first);
        a click on a field opens its list, as a click on the control does."""
        self.add_class("show-profile")
        if self.view is None:
            return
        self.update_status()  # no "p: profile" hint once it shows
        form = self.profile_form
        if form is None:
            if not self.profile_editable():
                return  # nothing to edit: the summary shows it all
            # Set before the first await: a second way in meanwhile builds no second form.
            form = self.profile_form = ProfileForm(id="profile-form")
            summary = self.query_one(ProfileSummary)
            await self.mount(form, before=summary)
            self.form_ready = True
            self.show_profile(self.view.profile)  # as read last (a reload may have come)
            await summary.remove()
        fields = form.query(f"#p-{code}") if code else form.query("Select")
        if not fields:
            return
        field = fields.first()
        field.focus()
        if click and isinstance(field, Select) and not field.disabled:
            field.expanded = True

    @on(ProfileForm.Edited)
    def profile_edited(self, event: ProfileForm.Edited) -> None:
        self.write_profile(event.code, event.value)

    def write_profile(self, code: str, value: str | None, *, seen: Any = DISPLAYED,
                      version: int | None = None, reason: str | None = None) -> None:
        assert self.view is not None
        shown = self.view.profile.get(code) if seen is DISPLAYED else seen
        try:
            change = cases.update_profile(
                self.ws.db, self.case_id, {code: value}, actor=self.ws.actor,
                expected_version=version if version is not None else self.version,
                seen={code: shown}, reason=reason)
        except ReasonRequired as exc:
            view = self.view
            self.ask_reason(exc, lambda why: self.write_profile(code, value, seen=seen,
                                                                version=version, reason=why),
                            lambda: self.show_profile(view.profile))
            return
        except ConflictError as exc:
            theirs, current = exc.theirs.get(code), exc.current_version
            self.resolve_conflict(PROFILE[code].label, value, theirs,
                                  lambda: self.write_profile(
                                      code, value, seen=cases.parse_profile_value(code, theirs),
                                      version=current))
            return
        except AuditError as exc:
            self.notify(str(exc), title="Not saved", severity="error")
            self.show_profile(self.view.profile)
            return
        self.view.profile[code] = cases.parse_profile_value(code, value)
        self.after_change(change, PROFILE[code].label)
