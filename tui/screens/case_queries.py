"""The case screen's data queries: `q` opens a query on the current question's answer,
or shows its thread with the steps the person may take (respond, change the answer with
a reason, close, re-open).

`CaseScreen` (`tui/screens/case.py`) is built on this. The use cases decide
(`audit.queries`); this part collects what is typed in a dialog, calls them, says what
happened in one line and refreshes the marks (⚑) of the question list.
"""

from __future__ import annotations

from audit import queries
from audit.errors import AuditError, ConflictError
from audit.views import queries as query_views
from audit.views.queries import QueryRow
from tui.screens.case_lifecycle import CaseLifecycle
from tui.screens.query_dialogs import OpenQueryModal, QueryRequest, ThreadModal


class CaseQueries(CaseLifecycle):
    """Data queries on one case's answers (the rest is CaseScreen's)."""

    queries: list[QueryRow]
    values: dict[str, str | None]

    # -- what CaseScreen provides ----------------------------------------------------------

    def read_queries(self) -> list[QueryRow]:
        """The case's data queries this person may see."""
        raise NotImplementedError

    def refresh_rules(self) -> None:
        """Judge the rules again and relabel the question list."""
        raise NotImplementedError

    # -- the key ---------------------------------------------------------------------------

    def query_here(self) -> QueryRow | None:
        """The query on the current question's answer: the one not closed, else the
        latest closed one (None: no query yet)."""
        mine = [r for r in self.queries
                if r.question_id == self.current and r.rater == self.rater]
        return next((r for r in mine if r.status != "closed"), mine[0] if mine else None)

    def action_query(self) -> None:
        """Open a query here, or show the thread of the one there is."""
        if self.view is None:
            return
        self.commit_note()
        found = self.query_here()
        question = self.question()
        value = self.values.get(question.id)
        if found is None:
            def opened(comment: str | None) -> None:
                if comment:
                    self.open_query(comment)

            self.app.push_screen(OpenQueryModal(self.view.case_ref, question, self.rater,
                                                value), opened)
            return
        try:
            thread = query_views.thread(self.ws.db, found.id, actor=self.ws.actor)
            allowed = queries.allowed_steps(self.ws.db, found.id, actor=self.ws.actor)
        except AuditError as exc:
            self.notify(str(exc), title="Query", severity="error")
            return

        def decided(request: QueryRequest | None) -> None:
            if request is not None:
                self.take_step(found.id, request)

        self.app.push_screen(ThreadModal(thread, question, value, allowed), decided)

    # -- the steps -------------------------------------------------------------------------

    def open_query(self, comment: str) -> None:
        try:
            step = queries.open_query(self.ws.db, self.case_id, self.current, comment,
                                      actor=self.ws.actor, rater=self.rater)
        except AuditError as exc:
            self.notify(str(exc), title="Query not opened", severity="error")
            return
        who = step.assignee or "nobody (a lead answers it)"
        self.notify(f"Query #{step.id} on {step.question_id} is open, assigned to {who}.",
                    title="Query opened")
        self.refresh_queries()

    def take_step(self, query_id: int, request: QueryRequest) -> None:
        db, actor = self.ws.db, self.ws.actor
        try:
            if request.action == "respond":
                step = queries.respond(db, query_id, request.text, actor=actor)
            elif request.action == "change":
                step = queries.change_answer(
                    db, query_id, request.value, request.text, actor=actor,
                    expected_version=self.version, seen=self.values.get(self.current))
            elif request.action == "close":
                step = queries.close_query(db, query_id, request.text or None, actor=actor)
            else:
                step = queries.reopen_query(db, query_id, request.text, actor=actor)
        except ConflictError as exc:
            self.notify(f"{exc}: the case is shown again, as it is now.", title="Not changed",
                        severity="error")
            self.reload()
            return
        except AuditError as exc:
            self.notify(str(exc), title="Not done", severity="error")
            return
        self.notify(f"Query #{step.id} on {step.question_id} is {step.status_label.lower()}.",
                    title="Query")
        if step.change is not None:
            was = self.view.status if self.view is not None else None
            self.version = step.change.version
            self.last_saved = f"{step.question_id} = {request.value or 'cleared'}"
            self.reload()  # the answer, the status and the marks, as stored
            self.announce(step.change, was)
        else:
            self.refresh_queries()

    def refresh_queries(self) -> None:
        """Read the case's queries again and redraw the marks."""
        try:
            self.queries = self.read_queries()
        except AuditError as exc:
            self.notify(str(exc), title="Queries", severity="error")
            return
        self.refresh_rules()
