"""`query open | respond | change | close | reopen | list | show`: data queries on answers.

The person acting is whoever runs the command (`IOM_AUDIT_INSPECTOR`, else the operating
system login; on PostgreSQL the database login), as for every command; the rules of who
may do what are `audit/queries.py`'s.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.output import force_json_option, write_json
from cli.state import CliState

if TYPE_CHECKING:
    from audit.queries import QueryStep
    from audit.views.queries import QueryRow, Thread

RATER_HELP = "Whose answer: primary, qa or moderated."
JSON_HELP = "Write JSON to FILE ('-' for stdout) instead of a table."


def register(app: typer.Typer) -> None:
    """Add the `query` command group to the CLI."""
    group = typer.Typer(help="Data queries on answers: QA or a lead opens one on an answer, "
                             "the inspector who gave it responds or changes it with a "
                             "reason, QA closes it. Open queries block locking a case.",
                        no_args_is_help=True)
    group.command("open")(query_open)
    group.command("respond")(query_respond)
    group.command("change")(query_change)
    group.command("close")(query_close)
    group.command("reopen")(query_reopen)
    group.command("list")(query_list)
    group.command("show")(query_show)
    app.add_typer(group, name="query")


def _console() -> Console:
    return Console(markup=False, highlight=False)  # names, refs and comments as typed


def _said(step: QueryStep) -> str:
    return (f"Query #{step.id} on {step.question_id} ({step.rater}) of case {step.case_ref} "
            f"is {step.status_label.lower()}")


def query_open(
    ctx: typer.Context,
    case_ref: str = typer.Argument(..., help="Case reference."),
    question_id: str = typer.Argument(..., help="Question id, e.g. 2.1.1."),
    comment: str = typer.Option(..., "--comment", help="What is wrong or unclear (kept in "
                                                       "the thread and the audit trail)."),
    rater: str = typer.Option("primary", "--rater", help=RATER_HELP),
    inspection: str | None = typer.Option(None, "--inspection", "-i",
                                          help="The case's inspection (default: the only "
                                               "one)."),
) -> None:
    """Open a query on one answer of a case (a lead, or a QA rater of the case)."""
    from audit.queries import find_case, open_query

    state: CliState = ctx.obj
    db, actor = state.database(), state.actor()
    case_id = find_case(db, case_ref, actor=actor, inspection=inspection)
    step = open_query(db, case_id, question_id, comment, actor=actor, rater=rater)
    who = (f"assigned to {step.assignee}" if step.assignee
           else "assigned to nobody: a lead answers it")
    _console().print(f"Opened query #{step.id} on {step.question_id} ({step.rater}) of case "
                     f"{step.case_ref}, {who}.")


def query_respond(
    ctx: typer.Context,
    query_id: int = typer.Argument(..., help="The query's number."),
    text: str = typer.Option(..., "--text", help="The response (the answer stays as it is)."),
) -> None:
    """Respond to a query, keeping the answer (its assignee, the answer's author or a lead)."""
    from audit.queries import respond

    state: CliState = ctx.obj
    step = respond(state.database(), query_id, text, actor=state.actor())
    _console().print(f"{_said(step)}: QA closes or re-opens it.")


def query_change(
    ctx: typer.Context,
    query_id: int = typer.Argument(..., help="The query's number."),
    value: str = typer.Argument(..., help="The new answer code (yes, no, na, a choice code; "
                                          "'' clears the answer)."),
    reason: str = typer.Option(..., "--reason", help="Why the answer changes (kept in the "
                                                     "thread and the trail; it also reopens "
                                                     "a signed-off case)."),
) -> None:
    """Change the queried answer, with a reason (its assignee, the answer's author or a lead)."""
    from audit.lifecycle import label
    from audit.queries import change_answer

    state: CliState = ctx.obj
    step = change_answer(state.database(), query_id, value.strip() or None, reason,
                         actor=state.actor())
    console = _console()
    console.print(f"Changed the {step.rater} answer to {step.question_id} of case "
                  f"{step.case_ref} to {value.strip() or '(empty)'}; query #{step.id} is "
                  "answered: QA closes or re-opens it.")
    change = step.change
    if step.reopened_from is not None and change is not None and change.status is not None:
        console.print(f"Case {step.case_ref} was {label(step.reopened_from)}: it is now "
                      f"{label(change.status)} (reopened with your reason).")


def query_close(
    ctx: typer.Context,
    query_id: int = typer.Argument(..., help="The query's number."),
    comment: str | None = typer.Option(None, "--comment",
                                       help="Why (needed when nobody has responded)."),
) -> None:
    """Close a query (a lead, or a QA rater of the case)."""
    from audit.queries import close_query

    state: CliState = ctx.obj
    step = close_query(state.database(), query_id, comment, actor=state.actor())
    _console().print(f"{_said(step)}.")


def query_reopen(
    ctx: typer.Context,
    query_id: int = typer.Argument(..., help="The query's number."),
    comment: str = typer.Option(..., "--comment", help="What is still wrong."),
) -> None:
    """Re-open an answered or closed query (a lead, or a QA rater of the case)."""
    from audit.queries import reopen_query

    state: CliState = ctx.obj
    step = reopen_query(state.database(), query_id, comment, actor=state.actor())
    _console().print(f"{_said(step)} again.")


def _when(row: QueryRow) -> str:
    return row.updated_at.strftime("%Y-%m-%d %H:%M")


AWAITING = {"respond": "you to respond", "close": "you to close or re-open"}


def query_list(
    ctx: typer.Context,
    mine: bool = typer.Option(False, "--mine", help="Only what waits for me: open queries "
                                                    "assigned to me, answered ones to close."),
    status: str | None = typer.Option(None, "--status", help="open, answered or closed."),
    by_site: bool = typer.Option(False, "--by-site",
                                 help="Counts per site and status instead of the queries."),
    inspection: list[str] = typer.Option(None, "--inspection", "-i",
                                         help="Only this inspection (repeatable)."),
    json_out: str | None = typer.Option(None, "--json", help=JSON_HELP),
    force: bool = force_json_option(),
) -> None:
    """Data queries: every one, mine, or counts per site."""
    from audit.formatting import format_count
    from audit.views import queries as views

    state: CliState = ctx.obj
    db = state.database("read")
    actor = state.actor()
    scope = views.inspection_ids(db, inspection or None, actor=actor)
    if by_site:
        sites = views.by_site(db, actor=actor, inspection_ids=scope)
        if json_out is not None:
            doc: Any = [{"inspection": s.inspection, "site": s.site, "open": s.open,
                         "answered": s.answered, "closed": s.closed} for s in sites]
            write_json(json_out, json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                       force=force)
            return
        table = Table(title=f"Queries by site: {format_count(sum(s.total for s in sites))}",
                      title_justify="left")
        for column in ("Inspection", "Site", "Open", "Answered", "Closed", "Total"):
            table.add_column(column, justify="right" if column not in ("Inspection", "Site")
                             else "left")
        for s in sites:
            table.add_row(Text(s.inspection), Text(s.site or "(no site)"),
                          *(format_count(n) for n in (s.open, s.answered, s.closed, s.total)))
        _console().print(table)
        return
    if mine:
        rows = views.my_queries(db, actor=actor, inspection_ids=scope)
        if status is not None:
            wanted = views.check_status(status)
            rows = [r for r in rows if r.status == wanted]
    else:
        rows = views.list_queries(db, actor=actor, inspection_ids=scope, status=status)
    if json_out is not None:
        write_json(json_out, json.dumps([views.as_json(r) for r in rows], indent=2,
                                        ensure_ascii=False) + "\n", force=force)
        return
    title = "Waiting for you" if mine else "Queries"
    table = Table(title=f"{title}: {format_count(len(rows))}", title_justify="left")
    columns = ["#", "Case", "Site", "Question", "Rater", "Status", "Assignee", "Opened by",
               "Updated (UTC)"] + (["Waiting for"] if mine else [])
    for column in columns:
        table.add_column(column, overflow="fold")
    for r in rows:
        cells = [str(r.id), r.case_ref, r.site or "", r.question_id, r.rater, r.status_label,
                 r.assignee or "(nobody)", r.opened_by, _when(r)]
        if mine:
            cells.append(AWAITING.get(r.awaiting, ""))
        table.add_row(*(Text(c) for c in cells))
    _console().print(table)


def _thread_json(found: Thread) -> dict[str, Any]:
    from audit.views.queries import as_json

    return {**as_json(found.query),
            "messages": [{"at": m.at.isoformat(), "author": m.author, "action": m.action,
                          "text": m.text, "old_value": m.old_value,
                          "new_value": m.new_value} for m in found.messages]}


def query_show(
    ctx: typer.Context,
    query_id: int = typer.Argument(..., help="The query's number."),
    json_out: str | None = typer.Option(None, "--json", help=JSON_HELP),
    force: bool = force_json_option(),
) -> None:
    """A query and its thread."""
    from audit.text_rules import preview
    from audit.views.queries import thread

    state: CliState = ctx.obj
    db = state.database("read")
    found = thread(db, query_id, actor=state.actor())
    if json_out is not None:
        write_json(json_out, json.dumps(_thread_json(found), indent=2, ensure_ascii=False)
                   + "\n", force=force)
        return
    q = found.query
    console = _console()
    console.print(f"Query #{q.id} on {q.question_id} ({q.rater}) of case {q.case_ref} "
                  f"({q.inspection}, {q.site or 'no site'}): {q.status_label}, assigned to "
                  f"{q.assignee or 'nobody'}; opened by {q.opened_by}.")
    table = Table(show_header=True, title_justify="left")
    for column in ("When (UTC)", "Who", "Step", "Text", "Answer"):
        table.add_column(column, overflow="fold")
    for m in found.messages:
        answer = {"change": f"{m.old_value or '∅'} → {m.new_value or '∅'}",
                  "open": m.old_value or "∅"}.get(m.action, "")
        table.add_row(*(Text(v) for v in (m.at.strftime("%Y-%m-%d %H:%M:%S"), m.author,
                                          m.action_label, preview(m.text, 500), answer)))
    console.print(table)
