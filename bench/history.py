"""History at scale: the event window and `holmtray events` on a 1,000,000-event database.

Each measurement runs in a fresh child process (offscreen Qt) against the big database made by
``make_history.py``, and -- the baseline, in the same run -- against a 1,000-event database made
the same way; the ratio says what the million rows cost. Every UI figure is wall time from the
action to the table's viewport having been repainted (the time to paint is included):

* open: ``Store.open`` of the database (the app does it before the window exists);
* first paint: construct ``EventWindow`` (its model loads the first page), show, paint;
* search: a rare term (one asset, a few dozen events) and a common one (40% of the events),
  applied at once (``apply_filter_now``, i.e. without the 200 ms typing debounce);
* filter: kind = ticket, then min severity = high, then unread only (each on top of the last);
* sort: a click on a column header (Severity, Title, Asset), each measured on the unfiltered
  list and with kind = ticket; then the Severity sort with the rare and the common search
  (a search sorts its matches: the rare one stays cheap, the common one costs with its
  matches), and Ctrl+End in the Asset order (the last page of a sorted million);
* jump to the oldest: Ctrl+End pressed on the window's table (with focus, the first row
  current), timed until the oldest matching event is the current row, shown at the bottom of
  the viewport, and painted; the rows the model holds then, and the process RSS. (A version
  whose Ctrl+End only pages -- one more page per press -- is pressed again until the oldest
  row is current, bounded; the time is extrapolated when the bound is hit.) Then Ctrl+Home
  back to the newest rows, timed the same way;
* RSS of the process after all that.

Then ``holmtray events --search TERM`` end to end (subprocess wall time, median of 7) against
``python -c pass`` and ``python -m holmtray --version``.

Run: python bench/make_history.py   (once; ~5 min)   then   python bench/history.py [--runs 3]
Targets: first paint <= 300 ms; search <= 100 ms; filter change <= 100 ms; jump to oldest
<= 100 ms; RSS <= 250 MB; CLI search <= 200 ms; a sort (a header click) <= 100 ms, as a filter
change (the sorted common search is reported, with no target: it sorts 400,000 matches).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    OFFSCREEN_ENV,
    PY,
    env_with,
    machine,
    median,
    self_rss_mb,
    table,
    verdict,
)
from make_history import COMMON_TERM, DEFAULT_HOME, RARE_TERM

SMALL_HOME = Path("/tmp/holmtray-bench-history-1k")
JUMP_BUDGET_S = 10.0
COUNT_CAP = 9_999
TARGETS_MS = {
    "first_paint": 300.0,
    "search_rare": 100.0,
    "search_common": 100.0,
    "filter_kind": 100.0,
    "filter_severity": 100.0,
    "filter_unread": 100.0,
    "jump_oldest": 100.0,
    "sort_severity": 100.0,
    "sort_title": 100.0,
    "sort_asset": 100.0,
    "sort_severity_tickets": 100.0,
    "sort_title_tickets": 100.0,
    "sort_asset_tickets": 100.0,
    "sort_severity_search_rare": 100.0,
    "sort_asset_ctrl_end": 100.0,
}
"""Jump to the oldest: the target is for the whole jump (one Ctrl+End press, if it is enough)."""
TARGET_RSS_MB = 250.0
TARGET_CLI_MS = 200.0


def cap_match_count(cap: int = COUNT_CAP) -> None:
    """Diagnostic: the recommended model change (a capped count for the status label).

    ``EventTableModel.match_count`` counts every match exactly after each filter change; this
    makes it ask ``Store.count(q, cap=...)`` instead (the label then says e.g. "10,000 events"
    where the app would say "9,999+ events").
    """
    from holmtray.ui.events.model import EventTableModel  # noqa: PLC0415

    def match_count(self: Any) -> int:
        if self._count is None:
            self._count = self._store.count(self._query, cap=cap)
        return int(self._count)

    EventTableModel.match_count = match_count  # type: ignore[method-assign]


def child(db: Path, capped: bool) -> dict[str, Any]:
    os.environ.update(OFFSCREEN_ENV)
    if capped:
        cap_match_count()
    from concurrent.futures import Future  # noqa: PLC0415

    from PySide6.QtCore import QEvent, QObject, QPoint, Qt  # noqa: PLC0415
    from PySide6.QtTest import QTest  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from holmtray.core.events import Kind, Severity  # noqa: PLC0415
    from holmtray.core.history.query import EventQuery  # noqa: PLC0415
    from holmtray.core.history.store import Store  # noqa: PLC0415
    from holmtray.ui.events.display import COL_ASSET, COL_SEVERITY, COL_TITLE  # noqa: PLC0415
    from holmtray.ui.events.window import EventWindow  # noqa: PLC0415

    app = QApplication.instance() or QApplication(sys.argv[:1])
    out: dict[str, Any] = {"rss_start_mb": self_rss_mb()}

    class PaintWatch(QObject):
        painted = False

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.painted = True
            return False

    watch = PaintWatch()

    def until_painted(t0: float, timeout: float = 30.0) -> float:
        """Process events until the table's viewport was painted; ms since ``t0``."""
        deadline = time.perf_counter() + timeout
        while not watch.painted and time.perf_counter() < deadline:
            app.processEvents()
        app.processEvents()  # whatever the paint queued (e.g. a second pass)
        return (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    store = Store.open(db)
    out["open"] = (time.perf_counter() - t0) * 1000

    state = Path(os.environ.get("TMPDIR", "/tmp")) / f"holmtray-bench-window-{os.getpid()}.ini"
    t0 = time.perf_counter()

    def no_write(_operation: Any) -> Future[Any]:
        # The bench only reads: a write (the dwell marking) is answered with a failure.
        failed: Future[Any] = Future()
        failed.set_exception(RuntimeError("the bench does not write"))
        return failed

    window = EventWindow(
        store=store, write=no_write, open_link=lambda url, parent: None, state_path=state
    )
    window.table.viewport().installEventFilter(watch)
    window.empty_state.installEventFilter(watch)  # what a search without matches shows
    window.show()
    out["first_paint"] = until_painted(t0)
    out["rows_first_page"] = window.model.rowCount()
    out["count_label"] = window.count_label.text()

    def action(name: str, do: Any) -> None:
        watch.painted = False
        t0 = time.perf_counter()
        do()
        out[name] = until_painted(t0)
        out[f"{name}_rows"] = window.model.rowCount()
        out[f"{name}_count"] = window.count_label.text()

    def search(term: str) -> None:
        window.search.setText(term)
        window.apply_filter_now()

    def clear_search() -> None:
        window.search.setText("")
        window.apply_filter_now()

    action("search_rare", lambda: search(RARE_TERM))
    action("search_common", lambda: search(COMMON_TERM))
    action("search_clear", clear_search)
    kind_index = window.kind_combo.findData(Kind.TICKET.value)
    sev_index = window.severity_combo.findData(int(Severity.HIGH))
    action("filter_kind", lambda: window.kind_combo.setCurrentIndex(kind_index))
    action("filter_severity", lambda: window.severity_combo.setCurrentIndex(sev_index))
    action("filter_unread", lambda: window.unread_check.setChecked(True))
    action("filter_clear", window.clear_filters)

    # Sorting: a click on a column header, as a person clicks it (the model sorts in SQL).
    header = window.table.horizontalHeader()

    def click(column: int) -> None:
        QTest.mouseClick(
            header.viewport(),
            Qt.MouseButton.LeftButton,
            pos=QPoint(header.sectionViewportPosition(column) + 10, 5),
        )

    def receive_order() -> None:
        window.model.sort(0, Qt.SortOrder.DescendingOrder)
        window.table.show_sort(window.model.query().sort, ascending=False)
        app.processEvents()

    def timed_sort(name: str, column: int) -> None:
        receive_order()  # untimed: each click sorts anew from the default order
        watch.painted = False
        t0 = time.perf_counter()
        click(column)
        out[name] = until_painted(t0)
        out[f"{name}_rows"] = window.model.rowCount()
        out[f"{name}_sort"] = window.model.query().sort.value

    for name, column in (
        ("sort_severity", COL_SEVERITY),
        ("sort_title", COL_TITLE),
        ("sort_asset", COL_ASSET),
    ):
        timed_sort(name, column)
    window.kind_combo.setCurrentIndex(kind_index)
    for name, column in (
        ("sort_severity_tickets", COL_SEVERITY),
        ("sort_title_tickets", COL_TITLE),
        ("sort_asset_tickets", COL_ASSET),
    ):
        timed_sort(name, column)
    window.clear_filters()
    for name, term in (
        ("sort_severity_search_rare", RARE_TERM),
        ("sort_severity_search_common", COMMON_TERM),
    ):
        window.search.setText(term)
        window.apply_filter_now()
        timed_sort(name, COL_SEVERITY)
    window.search.setText("")
    window.apply_filter_now()
    timed_sort("sort_asset_again", COL_ASSET)
    window.table.setFocus()
    window.table.selectRow(0)
    app.processEvents()
    watch.painted = False
    t0 = time.perf_counter()
    QTest.keyClick(window.table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    out["sort_asset_ctrl_end"] = until_painted(t0)
    cur = window.table.currentIndex()
    out["sort_asset_ctrl_end_row"] = cur.row()
    receive_order()

    out["rss_before_jump_mb"] = self_rss_mb()
    # What a "jump to the end" strategy would pay on the store's side: the oldest page by an
    # ascending id scan, then its rows read as the model reads rows.
    t0 = time.perf_counter()
    oldest = [r[0] for r in store._conn.execute("SELECT id FROM events ORDER BY id ASC LIMIT 200")]
    store.query(EventQuery(ids=frozenset(oldest), limit=None))
    out["oldest_page_direct"] = (time.perf_counter() - t0) * 1000

    # Ctrl+End as a person presses it, on the table with focus.
    window.table.setFocus()
    window.table.selectRow(0)
    app.processEvents()
    oldest_id = store.query_ids(
        dataclasses.replace(window.model.query(), oldest_first=True, limit=1)
    )[0]
    out["oldest_id"] = oldest_id

    def current_id() -> int | None:
        cur = window.table.currentIndex()
        return window.model.event_at(cur.row()).id if cur.isValid() else None

    def bottom_id() -> int | None:
        row = window.table.rowAt(window.table.viewport().height() - 2)
        return window.model.event_at(row).id if row >= 0 else None

    def press(key: Any) -> None:
        QTest.keyClick(window.table, key, Qt.KeyboardModifier.ControlModifier)

    action("ctrl_end", lambda: press(Qt.Key.Key_End))
    out["ctrl_end_row"] = window.table.currentIndex().row()
    out["ctrl_end_id"] = current_id()
    out["ctrl_end_reaches_oldest"] = current_id() == oldest_id

    # A paging-only Ctrl+End: keep pressing until the oldest row is current (or time is up).
    presses = 1
    t0 = time.perf_counter()
    reached = out["ctrl_end_reaches_oldest"]
    while not reached and time.perf_counter() - t0 < JUMP_BUDGET_S:
        watch.painted = False
        press(Qt.Key.Key_End)
        until_painted(time.perf_counter(), timeout=5)
        presses += 1
        reached = current_id() == oldest_id
    spent = time.perf_counter() - t0 + out["ctrl_end"] / 1000
    loaded = window.model.rowCount()
    out["jump_presses"] = presses
    out["jump_rows_loaded"] = loaded
    out["jump_reached"] = reached
    out["jump_bottom_id"] = bottom_id()
    if reached:
        out["jump_oldest"] = spent * 1000
    else:
        # Rows load at a steady rate per press; extrapolate to all of them.
        total = store.count(window.model.query())
        out["jump_oldest"] = spent * 1000 * total / max(loaded, 1)
    out["jump_extrapolated"] = not reached
    out["rss_after_jump_mb"] = self_rss_mb()

    newest_id = store.query_ids(dataclasses.replace(window.model.query(), limit=1))[0]
    action("ctrl_home", lambda: press(Qt.Key.Key_Home))
    out["ctrl_home_back_to_newest"] = current_id() == newest_id
    out["rss_mb"] = self_rss_mb()
    window.hide()
    store.close()
    state.unlink(missing_ok=True)
    return out


def cli_times(home: Path, runs: int = 7) -> dict[str, float]:
    """Median wall time (ms) of each command, interleaved run by run."""
    cmds = {
        "python -c pass": [PY, "-c", "pass"],
        "holmtray --version": [PY, "-m", "holmtray", "--version"],
        f"holmtray events --search {RARE_TERM}": [
            PY,
            "-m",
            "holmtray",
            "events",
            "--search",
            RARE_TERM,
        ],
        f"holmtray events --search {COMMON_TERM}": [
            PY,
            "-m",
            "holmtray",
            "events",
            "--search",
            COMMON_TERM,
        ],
        "holmtray events": [PY, "-m", "holmtray", "events"],
        f"(diagnostic) _cli_min.py {RARE_TERM}": [
            PY,
            str(Path(__file__).with_name("_cli_min.py")),
            RARE_TERM,
        ],
    }
    env = env_with(home)
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(runs):
        for name, argv in cmds.items():
            t0 = time.perf_counter()
            r = subprocess.run(
                argv, env=env, capture_output=True, text=True, check=False, timeout=120
            )
            times[name].append((time.perf_counter() - t0) * 1000)
            if r.returncode != 0:
                raise RuntimeError(f"{name}: rc {r.returncode}\n{r.stderr}")
    return {k: statistics.median(v) for k, v in times.items()}


def ensure(home: Path, events: int) -> Path:
    from holmtray.core.config.paths import Paths  # noqa: PLC0415

    db = Paths.under(home).database
    if not db.exists():
        print(f"{db} missing: making {events:,} events (python bench/make_history.py)", flush=True)
        subprocess.run(
            [
                PY,
                str(Path(__file__).with_name("make_history.py")),
                "--events",
                str(events),
                "--home",
                str(home),
            ],
            check=True,
        )
    return db


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--home", type=Path, default=DEFAULT_HOME, help="made by make_history.py")
    p.add_argument(
        "--small-home", type=Path, default=SMALL_HOME, help="the 1,000-event baseline's home"
    )
    p.add_argument(
        "--capped-count",
        action="store_true",
        help="diagnostic: patch in the recommended capped match count (see RESULTS.md)",
    )
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.capped_count)), flush=True)
        return 0

    big = ensure(args.home, 1_000_000)
    small = ensure(args.small_home, 1_000)
    import sqlite3  # noqa: PLC0415

    n_big = sqlite3.connect(big).execute("SELECT count(*) FROM events").fetchone()[0]
    print(machine())
    print(
        f"big: {big} ({n_big:,} events, {big.stat().st_size / 1e9:.2f} GB); baseline: {small}"
        f" (1,000 events); page cache warm after the first run; {args.runs} runs each"
        + ("; DIAGNOSTIC: capped match count patched in" if args.capped_count else "")
    )
    results: dict[str, list[dict[str, Any]]] = {"small": [], "big": []}
    for n in range(args.runs):
        for label, db in (("small", small), ("big", big)):
            argv = [PY, __file__, "--child", str(db)]
            argv += ["--capped-count"] if args.capped_count else []
            r = subprocess.run(
                argv, capture_output=True, text=True, timeout=900, check=False, env=env_with()
            )
            line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                print(f"{label} run failed (rc {r.returncode}):\n{r.stderr[-4000:]}")
                return 0
            res = json.loads(line[7:])
            results[label].append(res)
            print(
                f"run {n + 1} {label:5}: "
                + ", ".join(
                    f"{k} {res[k]:.0f}"
                    for k in (
                        "open",
                        "first_paint",
                        "search_rare",
                        "search_common",
                        "filter_kind",
                        "filter_severity",
                        "filter_unread",
                        "sort_severity",
                        "sort_title",
                        "sort_asset",
                        "sort_severity_tickets",
                        "sort_title_tickets",
                        "sort_asset_tickets",
                        "sort_severity_search_rare",
                        "sort_severity_search_common",
                        "sort_asset_ctrl_end",
                        "ctrl_end",
                        "jump_oldest",
                        "rss_after_jump_mb",
                        "ctrl_home",
                        "rss_mb",
                    )
                ),
                flush=True,
            )
    last = results["big"][-1]
    print(
        f"big db: first page {last['rows_first_page']} rows, {last['count_label']}; rare search "
        f"{last['search_rare_count']}, common search {last['search_common_count']}; Ctrl+End -> "
        f"row {last['ctrl_end_row']} (id {last['ctrl_end_id']}; oldest id {last['oldest_id']}:"
        f" {'reached' if last['ctrl_end_reaches_oldest'] else 'NOT reached'}); "
        f"{last['jump_presses']} press(es), {last['jump_rows_loaded']:,} rows loaded, "
        f"{'reached' if last['jump_reached'] else 'budget spent, time extrapolated'}, "
        f"bottom row in view id {last['jump_bottom_id']}; Ctrl+Home back to the newest: "
        f"{'yes' if last['ctrl_home_back_to_newest'] else 'NO'}"
    )

    rows = []
    labels = {
        "open": "Store.open (before the window)",
        "first_paint": "first paint",
        "search_rare": f"search, rare term ({RARE_TERM})",
        "search_common": f"search, common term ({COMMON_TERM})",
        "filter_kind": "filter: kind = ticket",
        "filter_severity": "filter: + severity >= high",
        "filter_unread": "filter: + unread only",
        "sort_severity": "sort: click Severity",
        "sort_title": "sort: click Title",
        "sort_asset": "sort: click Asset",
        "sort_severity_tickets": "sort: click Severity, kind = ticket",
        "sort_title_tickets": "sort: click Title, kind = ticket",
        "sort_asset_tickets": "sort: click Asset, kind = ticket",
        "sort_severity_search_rare": f"sort: click Severity, search {RARE_TERM}",
        "sort_severity_search_common": f"sort: click Severity, search {COMMON_TERM}",
        "sort_asset_ctrl_end": "sorted by asset: Ctrl+End (the last page)",
        "ctrl_end": "Ctrl+End (one press)",
        "jump_oldest": "jump to the oldest row (Ctrl+End until there)",
        "ctrl_home": "Ctrl+Home back to the newest",
    }
    for key, label in labels.items():
        s = median(r[key] for r in results["small"])
        b = median(r[key] for r in results["big"])
        target = TARGETS_MS.get(key)
        extra = " (extrapolated)" if key == "jump_oldest" and last["jump_extrapolated"] else ""
        rows.append(
            [
                label,
                f"{s:.0f}",
                f"{b:,.0f}{extra}",
                f"{b / max(s, 0.01):.1f}x",
                f"<= {target:g}" if target else "-",
                verdict(b <= target) if target else "-",
            ]
        )
    s_rb = median(r["rss_before_jump_mb"] for r in results["small"])
    b_rb = median(r["rss_before_jump_mb"] for r in results["big"])
    rows.append(
        [
            "process RSS before the jump (MB)",
            f"{s_rb:.0f}",
            f"{b_rb:.0f}",
            f"{b_rb / s_rb:.1f}x",
            f"<= {TARGET_RSS_MB:g}",
            verdict(b_rb <= TARGET_RSS_MB),
        ]
    )
    s_rj = median(r["rss_after_jump_mb"] for r in results["small"])
    b_rj = median(r["rss_after_jump_mb"] for r in results["big"])
    s_rows = median(r["jump_rows_loaded"] for r in results["small"])
    b_rows = median(r["jump_rows_loaded"] for r in results["big"])
    rows.append(
        [
            f"process RSS right after the jump (MB; {b_rows:,.0f} rows loaded on 1M,"
            f" {s_rows:,.0f} on 1k)",
            f"{s_rj:.0f}",
            f"{b_rj:.0f}",
            f"{b_rj / s_rj:.1f}x",
            f"<= {TARGET_RSS_MB:g}",
            verdict(b_rj <= TARGET_RSS_MB),
        ]
    )
    s_rss = median(r["rss_mb"] for r in results["small"])
    b_rss = median(r["rss_mb"] for r in results["big"])
    s_op = median(r["oldest_page_direct"] for r in results["small"])
    b_op = median(r["oldest_page_direct"] for r in results["big"])
    rows.append(
        [
            "(diagnostic) oldest page read directly",
            f"{s_op:.0f}",
            f"{b_op:.0f}",
            f"{b_op / max(s_op, 0.01):.1f}x",
            "-",
            "-",
        ]
    )
    rows.append(
        [
            "process RSS after all of these (MB)",
            f"{s_rss:.0f}",
            f"{b_rss:.0f}",
            f"{b_rss / s_rss:.1f}x",
            f"<= {TARGET_RSS_MB:g}",
            verdict(b_rss <= TARGET_RSS_MB),
        ]
    )
    print()
    print(
        table(
            [
                "figure (ms, median)",
                "1k events (baseline)",
                "1M events",
                "ratio",
                "target",
                "targets",
            ],
            rows,
        )
    )

    print()
    cli = cli_times(args.home)
    base = cli["python -c pass"]
    cli_rows = []
    for name, ms in cli.items():
        is_search = name.startswith("holmtray events --search")
        cli_rows.append(
            [
                name,
                f"{ms:.0f}",
                f"{ms / base:.1f}x",
                f"<= {TARGET_CLI_MS:g}" if is_search else "-",
                verdict(ms <= TARGET_CLI_MS) if is_search else "-",
            ]
        )
    print(
        table(
            [
                "command (1M events, median of 7)",
                "wall ms",
                "vs python -c pass",
                "target",
                "targets",
            ],
            cli_rows,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
