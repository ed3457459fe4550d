"""The `studytui` command: a bare call opens the study desk; subcommands script everything.

Read commands take `--json` (fields in docs/cli.md). This module imports neither textual
nor torch, so `studytui status` starts in a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import stat
import sys
from pathlib import Path

import typer

from studytui.atomic import write_atomic
from studytui.cli import render
from studytui.cli.common import (
    console,
    echo,
    err_console,
    error_line,
    fail,
    print_json,
    session,
    write_output,
)
from studytui.cli.lab import lab_app
from studytui.cli.review import review_app
from studytui.cli.serve import in_browser, serve
from studytui.curriculum.durations import format_duration, parse_duration
from studytui.curriculum.model import KINDS, STATUSES
from studytui.safetext import json_text, plain, text_problem, url_problem
from studytui.session import Session
from studytui.store import DamagedDatabase, DuplicateReading, StoreError
from studytui.study import (
    ResolveError,
    also_in,
    course_summaries,
    effective_statuses,
    next_items,
    orphan_keys,
    overall_tally,
    resolve_item,
)

app = typer.Typer(
    help="A terminal study desk for learning how large language models work.\n\n"
    "Run with no command to open the study desk.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

JsonOpt = typer.Option(False, "--json", help="Machine-readable output (fields in docs/cli.md).")


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    db: Path | None = typer.Option(None, "--db", help="Database file (default: STUDYTUI_HOME/studytui.db)."),
    curriculum: list[Path] = typer.Option(
        [],
        "--curriculum",
        "-c",
        help="Extra curriculum folder, beside the built-in one (repeatable; also env STUDYTUI_CURRICULUM).",
    ),
    home: Path | None = typer.Option(
        None, "--home", envvar="STUDYTUI_HOME", help="Where all user data lives (env STUDYTUI_HOME)."
    ),
    no_builtin: bool = typer.Option(
        False, "--no-builtin", help="Leave out the built-in curriculum: only your own folders."
    ),
) -> None:
    for folder in curriculum:
        if not folder.is_dir():
            fail(f"--curriculum {folder}: not a folder", 2)
    if db is not None and db.is_dir():
        fail(f"--db {db}: is a folder, not a database file", 2)
    kwargs = {"db": db, "extra_curriculum": list(curriculum), "builtin": not no_builtin}
    if home is not None:
        kwargs["home"] = home
    ctx.obj = Session(**kwargs)
    if ctx.invoked_subcommand is None:
        _open_desk(ctx.obj)


def _open_desk(sess: Session) -> None:
    if not sys.stdout.isatty() and not in_browser():  # `studytui serve`'s desks talk over pipes
        fail("the study desk needs a terminal; see `studytui --help` for commands", 2)
    sess.store.check()  # a damaged or unwritable database: one line here, not a crash inside the desk
    from studytui.tui.app import build_app  # textual only when the desk opens

    desk = build_app(sess)
    desk.run()
    if desk.return_code:  # 1: a crash (its log named on stderr); 2: a damaged database; 129: hang-up
        raise typer.Exit(desk.return_code)


def _loaded(ctx: typer.Context):
    """The session's curriculum, warning once (not failing) when some files have problems."""
    sess = session(ctx)
    problems = sess.load_result.problems
    if problems:
        err_console.print(
            f"[yellow]warning:[/] {len(problems)} curriculum problem(s); run `studytui validate` to see them",
            highlight=False,
        )
    return sess, sess.curriculum


def _item(curriculum, ref: str):
    try:
        return resolve_item(curriculum, ref)
    except ResolveError as e:
        hint = ("; did you mean: " + ", ".join(e.candidates[:8])) if e.candidates else ""
        fail(f"{e}{hint}")


# -- validate -------------------------------------------------------------------------------
@app.command()
def validate(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(None, help="Files or folders (default: every curriculum folder)."),
) -> None:
    """Check curriculum YAML; print `path:line:col: message` per problem, exit 1 if any."""
    from studytui.curriculum.loader import validate_paths
    from studytui.runs.manifest import lab_names

    sess = session(ctx)
    targets = list(paths) if paths else sess.curriculum_dirs
    problems = validate_paths(targets, context_dirs=sess.curriculum_dirs, known_labs=lab_names())
    for p in sorted(problems):
        echo(p)  # a file name or a quoted value may hold anything
    if problems:
        err_console.print(f"{len(problems)} problem(s)", highlight=False)
        raise typer.Exit(1)
    err_console.print(plain(f"ok: {', '.join(str(t) for t in targets)}"), highlight=False)


# -- progress -------------------------------------------------------------------------------
@app.command()
def status(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Progress per course: done/total, percent, hours done and left."""
    sess, cur = _loaded(ctx)
    store = sess.store
    progress, time_by_key = store.progress(), store.time_by_key()
    summaries = course_summaries(cur, progress, time_by_key)
    overall = overall_tally(cur, progress, time_by_key)
    orphans = orphan_keys(cur, progress, store.notes(), time_by_key)
    if as_json:
        print_json(
            {
                "courses": [render.summary_json(s) for s in summaries],
                "overall": render.tally_json(overall),
                "orphans": [
                    {
                        "key": k,
                        "status": progress[k].status if k in progress else None,
                        "has_note": k in store.notes(),
                        "seconds_logged": time_by_key.get(k, 0),
                    }
                    for k in orphans
                ],
                "streak_days": store.streak(),
                "seconds_logged": store.total_time(),
            }
        )
        return
    render.status_table(console, summaries, orphans, store.streak(), store.total_time(), overall)


@app.command("next")
def next_(
    ctx: typer.Context,
    count: int = typer.Option(5, "-n", min=1, help="How many suggestions."),
    as_json: bool = JsonOpt,
) -> None:
    """What to study next: items in progress, then the first ready items in order."""
    sess, cur = _loaded(ctx)
    progress = sess.store.progress()
    items = next_items(cur, progress, count)
    statuses = effective_statuses(cur, progress)
    if as_json:
        print_json({"items": [render.item_json(i, statuses[i.key], also_in(cur, i)) for i in items]})
        return
    if not items:
        console.print("Nothing left: every item is done or skipped.")
    for item in items:
        console.print(render.item_line(item, statuses[item.key]), highlight=False)


@app.command()
def show(
    ctx: typer.Context,
    item: str = typer.Argument(..., help="course/item, an item id, or a prefix."),
    as_json: bool = JsonOpt,
) -> None:
    """One item: its details, status, note, time and history."""
    sess, cur = _loaded(ctx)
    it = _item(cur, item)
    store = sess.store
    status_ = effective_statuses(cur, store.progress())[it.key]
    doc = render.item_json(it, status_, also_in(cur, it)) | {
        "note": store.note(it.key),
        "seconds_logged": store.time_by_key().get(it.key, 0),
        "history": [
            {"at": e["at"], "kind": e["kind"], "old": e["old"], "new": e["new"]}
            for e in store.events(key=it.key, limit=20)
        ],
        "children": [c.key for c in it.children],
        "runs": _lab_runs(sess, it.lab) if it.lab and not it.lab_inherited else [],
    }
    if as_json:
        print_json(doc)
        return
    render.item_detail(console, it, doc, cur)


def _lab_runs(sess, lab: str) -> list[dict]:
    """The item's lab runs and their report cards (the index refreshed first: a run that
    ended since the last look gets its report written now)."""
    from studytui.runs import lab_runs, refresh_runs  # only items that pair with a lab pay for it

    refresh_runs(sess)
    return lab_runs(sess.store, lab)


@app.command()
def mark(
    ctx: typer.Context,
    item: str = typer.Argument(..., help="course/item, an item id, or a prefix."),
    status_: str = typer.Argument(..., metavar="STATUS", help=f"One of: {', '.join(STATUSES)}."),
) -> None:
    """Set an item's status."""
    if status_ not in STATUSES:
        fail(f"unknown status {status_!r} (use one of: {', '.join(STATUSES)})", 2)
    sess, cur = _loaded(ctx)
    it = _item(cur, item)
    from studytui.review import set_status  # a done item's terms join the review deck

    old = set_status(sess.store, cur, it.key, status_)
    echo(f"{it.key}: {old} → {status_}" if old != status_ else f"{it.key}: already {status_}")


@app.command()
def undo(ctx: typer.Context) -> None:
    """Undo the last change to a status, note or study time."""
    sess = session(ctx)
    event = sess.store.undo()
    if event is None:
        fail("nothing to undo")
    if event.get("skipped"):
        fail(
            f"history entry {event['id']} ({event['kind']} change on {event['key']}) is damaged and "
            "cannot be undone; it is skipped now: run `studytui undo` again to undo the change before it"
        )
    echo(f"undid {event['kind']} change on {event['key']}")


@app.command()
def note(
    ctx: typer.Context,
    item: str = typer.Argument(..., help="course/item, an item id, or a prefix."),
    text: str | None = typer.Argument(None, help="The note (markdown). `-` reads stdin; none opens $EDITOR."),
) -> None:
    """Write an item's note (replaces it; an empty note deletes it)."""
    sess, cur = _loaded(ctx)
    it = _item(cur, item)
    store = sess.store
    if text == "-":
        try:
            body = sys.stdin.buffer.read().decode("utf-8")
        except UnicodeDecodeError as e:
            fail(
                f"stdin is not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); "
                "the note is unchanged",
                1,
            )
    elif text is not None:
        body = text
    else:
        if not _stdin_is_terminal():
            fail("no TEXT given and no terminal for an editor (pass TEXT, or `-` for stdin)", 2)
        import click  # the real click: typer's vendored copy has no editor helper

        try:
            edited = click.edit(store.note(it.key) or "", extension=".md", require_save=True)
        except click.ClickException as e:  # the editor is missing, or exited non-zero
            fail(f"{e.format_message()}; the note is unchanged (set $EDITOR, or pass TEXT)")
        if edited is None:
            console.print("note unchanged")
            return
        body = edited
    body = body.replace("\r\n", "\n").replace("\r", "\n")  # a note saved on Windows is still a note
    body = body.rstrip("\n") + ("\n" if body.strip() else "")
    bad = text_problem(body, multiline=True)
    if bad:
        fail(f"the note {bad}; the note is unchanged")
    changed = store.set_note(it.key, body if body.strip() else "")
    echo(f"{it.key}: note {'saved' if changed else 'unchanged'}")


@app.command()
def log(
    ctx: typer.Context,
    item: str = typer.Argument(..., help="course/item, an item id, or a prefix."),
    minutes: str = typer.Argument(..., help="Minutes (25), or a duration (1h30m, 1:05:00)."),
) -> None:
    """Log study time on an item."""
    seconds = _parse_minutes(minutes)
    sess, cur = _loaded(ctx)
    it = _item(cur, item)
    sess.store.log_time(it.key, seconds)  # a StoreError is one line and exit 2 (run())
    total = sess.store.time_by_key().get(it.key, 0)
    echo(f"{it.key}: +{format_duration(seconds)} (total {format_duration(total)})")


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _parse_minutes(text: str) -> int:
    try:
        minutes = float(text)
    except ValueError:
        try:
            return parse_duration(text)
        except ValueError as e:
            fail(f"MINUTES: {e}", 2)
    if not 0 < minutes <= 24 * 60:
        fail("MINUTES must be more than 0 and at most 1440", 2)
    return round(minutes * 60)


# -- finding things ---------------------------------------------------------------------------
@app.command()
def search(
    ctx: typer.Context,
    query: list[str] = typer.Argument(..., help="Words to look for."),
    limit: int = typer.Option(20, "-n", min=1),
    as_json: bool = JsonOpt,
) -> None:
    """Search titles, summaries, tags and glossary terms, best first."""
    from studytui.search import search as run_search

    sess, cur = _loaded(ctx)
    q = " ".join(query)
    hits = run_search(cur, q, limit)
    if as_json:
        print_json(
            {
                "query": q,
                "hits": [
                    {
                        "kind": h.kind,
                        "key": h.key,
                        "title": h.title,
                        "score": round(h.score, 2),
                        "snippet": h.snippet,
                    }
                    for h in hits
                ],
            }
        )
        return
    if not hits:
        fail(f"nothing matches {q!r}")
    render.search_hits(console, hits)


@app.command()
def glossary(
    ctx: typer.Context,
    term: str | None = typer.Argument(None, help="A term, alias or id."),
    as_json: bool = JsonOpt,
) -> None:
    """List the glossary, or show one term with the items that teach it."""
    from studytui.glossary import find_term

    sess, cur = _loaded(ctx)
    if term is None:
        if as_json:
            print_json({"terms": [render.term_json(t, cur) for t in cur.terms]})
        else:
            render.glossary_table(console, cur.terms)
        return
    found, candidates = find_term(cur, term)
    if found is None:
        hint = ("; did you mean: " + ", ".join(candidates)) if candidates else ""
        fail(f"no glossary term {term!r}{hint}")
    if as_json:
        print_json(render.term_json(found, cur))
    else:
        render.term_detail(console, found, cur)


# -- reading list ----------------------------------------------------------------------------
@app.command()
def add(
    ctx: typer.Context,
    url: str = typer.Argument(..., help="http(s) link."),
    title: str | None = typer.Option(None, "--title", "-t", help="Title (default: the URL)."),
    kind: str = typer.Option("article", "--kind", "-k", help="Kind: article, paper, video, ..."),
    tags: list[str] = typer.Option([], "--tag", help="A tag (repeatable)."),
    as_json: bool = JsonOpt,
) -> None:
    """Add a link to your reading list inbox."""
    bad = url_problem(url)
    if bad:
        fail(f"URL {url!r} {bad}", 2)
    if kind not in KINDS:
        fail(f"unknown kind {kind!r} (one of: {', '.join(KINDS)})", 2)
    if title is not None and (bad := text_problem(title) or (None if title.strip() else "is empty")):
        fail(f"--title {bad}", 2)
    for tag in tags:
        if bad := text_problem(tag) or (None if tag.strip() else "is empty"):
            fail(f"--tag {tag!r} {bad}", 2)
    try:
        entry_id = session(ctx).store.add_reading(url, title or url, kind=kind, tags=tags)
    except DuplicateReading as e:
        fail(str(e), 1)
    if as_json:
        print_json(
            {"id": entry_id, "url": url, "title": title or url, "kind": kind, "tags": tags, "status": "inbox"}
        )
    else:
        console.print(f"added #{entry_id} to the reading inbox", highlight=False)


@app.command()
def reading(
    ctx: typer.Context,
    place: str | None = typer.Argument(
        None, help="inbox, archive or course (default: all); or `rm N` to delete entry N."
    ),
    entry: int | None = typer.Argument(None, metavar="[N]", help="With rm: the entry number."),
    as_json: bool = JsonOpt,
) -> None:
    """Show your reading list (`studytui reading rm N` deletes entry N)."""
    if place == "rm":
        if entry is None:
            fail("reading rm needs the entry number (see `studytui reading`)", 2)
        try:
            removed = session(ctx).store.delete_reading(entry)
        except DamagedDatabase:
            raise
        except StoreError as e:
            fail(str(e))
        if as_json:
            print_json({"deleted": removed})
        else:
            echo(f"deleted #{entry} ({removed['title']})")
        return
    if entry is not None:
        fail(
            f"unexpected {entry} after {place or 'reading'} (did you mean `studytui reading rm {entry}`?)", 2
        )
    if place not in (None, "inbox", "archive", "course"):
        fail(f"unknown place {place!r} (inbox, archive or course; or rm N)", 2)
    rows = session(ctx).store.reading(place)
    if as_json:
        print_json({"entries": rows})
        return
    render.reading_table(console, rows)


@app.command()
def archive(ctx: typer.Context, entry: int = typer.Argument(..., help="Reading-list entry number.")) -> None:
    """Move a reading-list entry to the archive."""
    try:
        session(ctx).store.move_reading(entry, "archive")
    except DamagedDatabase:
        raise
    except StoreError as e:
        fail(str(e))
    console.print(f"#{entry} archived")


# -- backup -----------------------------------------------------------------------------------
@app.command()
def export(
    ctx: typer.Context,
    format_: str = typer.Option("json", "--format", "-f", help="json (a full backup) or md (a checklist)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="File to write (default: stdout)."),
) -> None:
    """Export progress: json restores exactly; md is a ✅ checklist to keep or share."""
    if format_ not in ("json", "md"):
        fail(f"unknown format {format_!r} (json or md)", 2)
    sess = session(ctx)
    if format_ == "json":
        text = json_text(sess.store.export_state()) + "\n"
    else:
        from studytui.export_md import checklist

        _, cur = _loaded(ctx)
        text = checklist(cur, sess.store)
    write_output(output, text)


@app.command()
def restore(
    ctx: typer.Context, file: Path = typer.Argument(..., help="A file from `studytui export`.")
) -> None:
    """Replace progress, notes, time and history with a JSON export's (a backup is kept)."""
    try:
        if not stat.S_ISREG(file.stat().st_mode):  # a FIFO would hang, a device never end
            fail(f"{file}: not a regular file", 2)
        doc = json.loads(file.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        fail(f"{file}: no such file", 2)
    except UnicodeDecodeError as e:
        fail(f"{file}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start})", 2)
    except OSError as e:
        fail(f"{file}: cannot read: {e.strerror or e}", 2)
    except json.JSONDecodeError as e:
        fail(
            f"{file}:{e.lineno}:{e.colno}: not valid JSON: {e.msg} (restore takes a "
            "`studytui export --format json` file; an md checklist cannot be restored)",
            2,
        )
    except RecursionError:
        fail(f"{file}: JSON nested too deep", 2)
    sess = session(ctx)
    try:
        sess.store.check_export(doc)  # every row checked before a backup or a write
    except DamagedDatabase:
        raise
    except StoreError as e:
        fail(f"{file}: {e}; nothing restored", 2)
    current = sess.store.export_state()
    backup = None
    if any(
        current[t]
        for t in (
            "progress",
            "notes",
            "time_log",
            "events",
            "reading",
            "review_cards",
            "review_log",
            "settings",
        )
    ):
        # Microseconds: two restores in one second must not overwrite the first one's backup.
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        backup = sess.home / "backups" / f"before-restore-{stamp}.json"
        try:
            backup.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(backup, json_text(current) + "\n")
        except OSError as e:
            fail(f"cannot save a backup in {backup.parent} ({e.strerror or e}); nothing restored")
    try:
        counts = sess.store.restore_state(doc)
    except DamagedDatabase:
        raise
    except StoreError as e:
        kept = f"; the state before is also in {backup}" if backup else ""
        fail(f"{file}: {e}; nothing restored{kept}", 2)
    summary = ", ".join(f"{n} {t}" for t, n in counts.items())
    echo(f"restored {summary}" + (f" (previous state saved to {backup})" if backup else ""))


app.add_typer(lab_app, name="lab", help="Run the labs (`lab list` names them): detachable, re-attachable.")
app.add_typer(review_app, name="review", help="Review glossary terms with spaced repetition (FSRS).")
app.command("serve")(serve)


def run() -> None:
    """Console-script entry point: every error is one line on stderr, never a traceback.

    Usage errors get one line instead of typer's boxed panel; a damaged database or a
    refused file is exit 2; anything unexpected (a bug) exits 70 with one line naming a
    log file under the home that holds the traceback (shown here with STUDYTUI_DEBUG=1).
    """
    from typer._click.exceptions import ClickException, NoArgsIsHelpError

    undecodable = next((a for a in sys.argv[1:] if _has_surrogates(a)), None)
    if undecodable is not None:
        error_line(f"argument {undecodable!r} is not UTF-8 text; studytui takes UTF-8 arguments")
        sys.exit(2)
    try:
        code = app(standalone_mode=False)
    except NoArgsIsHelpError as e:
        sys.stderr.write(e.format_message() + "\n")  # `studytui lab`: its help, as click would
        code = e.exit_code
    except ClickException as e:
        ctx = getattr(e, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        error_line(f"{e.format_message()}{hint}")
        code = e.exit_code
    except StoreError as e:
        error_line(e)
        code = 2
    except sqlite3.DatabaseError as e:  # a read that bypassed the store's own checks
        error_line(
            f"database: {e}; the database may be damaged: restore from a backup (studytui restore FILE)"
        )
        code = 2
    except (KeyboardInterrupt, typer.Abort):
        code = 130
    except Exception as e:  # a bug: say so in one line, keep the traceback for a report
        if os.environ.get("STUDYTUI_DEBUG") == "1":
            raise
        code = _report_crash(e)
    if code == 130:
        err_console.print("interrupted")
    sys.exit(code if isinstance(code, int) else 0)


def _has_surrogates(text: str) -> bool:
    # Python hands undecodable argv bytes over as lone surrogates (PEP 383).
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _report_crash(error: BaseException) -> int:
    """Write the traceback to HOME/logs/crash-*.log and say so in one line; returns 70.

    This is the last resort, so it must not fail itself: an unwritable home falls back to
    the temporary folder, and if even printing fails the exit code still says "bug".
    """
    import tempfile
    import traceback

    from studytui.atomic import write_atomic as _write
    from studytui.paths import home_dir

    report = "".join(traceback.format_exception(error))
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    log = None
    for folder in (lambda: home_dir() / "logs", lambda: Path(tempfile.gettempdir())):
        try:
            candidate = folder() / f"studytui-crash-{stamp}.log"
            candidate.parent.mkdir(parents=True, exist_ok=True)
            _write(candidate, f"studytui {' '.join(sys.argv[1:])}\n\n{report}")
            log = candidate
            break
        except Exception:  # the last resort must not fail: try the next place  # noqa: BLE001
            continue
    where = f"the traceback is in {log}" if log else "run it again with STUDYTUI_DEBUG=1 to see the traceback"
    try:
        error_line(
            f"unexpected {type(error).__name__}: {error}. This is a bug in studytui; "
            f"{where}; please report it (see docs/security.md)"
        )
    except Exception:  # even printing may fail (a closed or broken stderr)  # noqa: BLE001
        try:
            sys.stderr.write(f"error: unexpected {type(error).__name__} (a bug in studytui); {where}\n")
        except Exception:  # noqa: BLE001 (nothing is left to tell)
            pass
    return 70
