"""Reports benchmark: the equity dashboard (peer and large) and a campaign scorecard (large).

The shapes hold no race/ethnicity, languages or campaign; ``_ensure_equity_data`` adds them once
to a cached database (people's races with a disparity, languages, a campaign with ten
institutions and a quarter of the actions), so the figures measure real groupings. Each page is
timed through the test client next to the raw SQL that computes its numbers: after a write
(the dashboard: one text's delivery status changed before each view), cold (the reports'
caches emptied first, as after a restart) and cached (a repeat view, nothing changed), all
beside the same raw SQL.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bench.common import database_app, logged_in_client, report, timed_ms
from bench.shapes import ORGANIZER, PASSWORD, build_large, build_peer, statement_triggers_off

RACES = ["hispanic_latino", "black_african_american", "white", "asian", "middle_eastern_north_african",
         "american_indian_alaska_native", "native_hawaiian_pacific_islander", "other", "prefer_not_to_say"]

# The dashboard's numbers by hand, as the page computes them: per-person facts (each activity
# table aggregated by person over the period, the trend's months as columns), computed once and
# summed by race and stage, and by stage for the total (each person once).
def equity_sql(months: int) -> str:
    trend = ", ".join(f"COALESCE(met.t{i}, 0) AS t{i}" for i in range(months))
    met_months = ", ".join(f"sum(held_on >= :m{i} AND held_on < :m{i + 1}) AS t{i}" for i in range(months))
    sums = "count(*), sum(reached), sum(ones), sum(moved), sum(yes), sum(yes_came), sum(came), sum(texted), " \
        "sum(delivered), sum(replied), sum(out), " + ", ".join(f"sum(t{i})" for i in range(months))
    return f"""WITH facts AS (SELECT p.id AS person_id, COALESCE(pp.stage_id, :first) AS stage,
        met.n IS NOT NULL AS reached, COALESCE(met.n, 0) AS ones, mv.person_id IS NOT NULL AS moved,
        y.person_id IS NOT NULL AS yes, COALESCE(y.came, 0) AS yes_came, c.person_id IS NOT NULL AS came,
        t.person_id IS NOT NULL AS texted, COALESCE(t.d, 0) AS delivered, r.person_id IS NOT NULL AS replied,
        (p.sms_consent = 'opted_out' AND p.sms_consent_at >= :b AND p.sms_consent_at < :f) AS out, {trend}
      FROM people p LEFT JOIN person_pipeline pp ON pp.person_id = p.id
      LEFT JOIN (SELECT person_id, count(*) AS n, {met_months} FROM one_to_ones
                 WHERE held_on >= :start AND held_on <= :end GROUP BY person_id) met ON met.person_id = p.id
      LEFT JOIN (SELECT m.person_id FROM stage_moves m JOIN stages t ON t.id = m.to_stage_id
                 LEFT JOIN stages s ON s.id = m.from_stage_id WHERE m.moved_at >= :b AND m.moved_at < :f
                 AND t.position > COALESCE(s.position, 1) GROUP BY m.person_id) mv ON mv.person_id = p.id
      LEFT JOIN (SELECT r.person_id, max(a.id IS NOT NULL) AS came FROM rsvps r JOIN actions x ON x.id = r.action_id
                 LEFT JOIN attendances a ON a.action_id = r.action_id AND a.person_id = r.person_id
                 WHERE r.status = 'yes' AND x.starts_at >= :b AND x.starts_at < :f AND x.starts_at <= :now
                 AND x.archived_at IS NULL GROUP BY r.person_id) y ON y.person_id = p.id
      LEFT JOIN (SELECT a.person_id FROM attendances a JOIN actions x ON x.id = a.action_id WHERE x.starts_at >= :b
                 AND x.starts_at < :f AND x.starts_at <= :now AND x.archived_at IS NULL GROUP BY a.person_id) c
                 ON c.person_id = p.id
      LEFT JOIN (SELECT person_id, max(status = 'delivered') AS d FROM sms_outbox WHERE coalesce(sent_at, sent_at) >= :b AND coalesce(sent_at, sent_at) < :f
                 AND sent_at IS NOT NULL AND person_id IS NOT NULL
                 GROUP BY person_id) t ON t.person_id = p.id
      LEFT JOIN (SELECT person_id FROM sms_inbound WHERE received_at >= :b AND received_at < :f GROUP BY person_id) r
                 ON r.person_id = p.id
      WHERE p.archived_at IS NULL)
    SELECT 'split', r.value, f.stage, {sums} FROM facts f
      LEFT JOIN person_race_ethnicities r ON r.person_id = f.person_id GROUP BY 2, 3
    UNION ALL SELECT 'total', NULL, stage, {sums} FROM facts GROUP BY 3"""


MEMBERS = "SELECT m.person_id FROM memberships m JOIN campaign_institutions ci ON ci.institution_id = m.institution_id WHERE ci.campaign_id = :c"
CAMPAIGN_PEOPLE = f"""{MEMBERS} UNION ALL SELECT a.person_id FROM attendances a JOIN actions x ON x.id = a.action_id
    WHERE x.campaign_id = :c AND x.archived_at IS NULL"""
# The scorecard's numbers by hand, as the page computes them for each of its two periods (the
# campaign's and the one before, its baseline): the counts, and each people-measure once per
# person; for the campaign's period, those people split by race and by neighborhood too.
SCORECARD_SQL = [
    f"""SELECT count(*), count(CASE WHEN follow_up_on <= :end THEN 1 END), count(CASE WHEN follow_up_done_at IS NOT NULL
        AND date(follow_up_done_at, :offset) <= follow_up_on THEN 1 END) FROM one_to_ones
        WHERE person_id IN ({MEMBERS}) AND held_on >= :start AND held_on <= :end""",
    "SELECT count(*) FROM actions WHERE campaign_id = :c AND archived_at IS NULL AND starts_at >= :b AND starts_at < :f",
    """SELECT count(*), count(a.id) FROM rsvps r JOIN actions x ON x.id = r.action_id LEFT JOIN attendances a
       ON a.action_id = r.action_id AND a.person_id = r.person_id WHERE x.campaign_id = :c AND x.archived_at IS NULL
       AND x.starts_at >= :b AND x.starts_at < :f AND r.status = 'yes'""",
]
SETS = f"""WITH ups AS (SELECT m.person_id, t.position >= :leader AND COALESCE(s.position, 1) < :leader AS to_leader
          FROM stage_moves m JOIN stages t ON t.id = m.to_stage_id LEFT JOIN stages s ON s.id = m.from_stage_id
          WHERE m.person_id IN ({CAMPAIGN_PEOPLE}) AND m.moved_at >= :b AND m.moved_at < :f
          AND t.position > COALESCE(s.position, 1)),
        sets AS (
        SELECT 'reached' AS measure, person_id FROM one_to_ones WHERE person_id IN ({MEMBERS})
          AND held_on >= :start AND held_on <= :end
        UNION ALL SELECT 'turned_out', a.person_id FROM attendances a JOIN actions x ON x.id = a.action_id
          WHERE x.campaign_id = :c AND x.starts_at >= :b AND x.starts_at < :f
        UNION ALL SELECT 'moved_up', person_id FROM ups
        UNION ALL SELECT 'new_leaders', person_id FROM ups WHERE to_leader)"""
SCORECARD_TOTALS_SQL = f"{SETS} SELECT measure, count(DISTINCT person_id) FROM sets GROUP BY measure"
SCORECARD_BY_GROUP_SQL = f"""{SETS},
        who AS (SELECT DISTINCT s.measure, s.person_id, p.neighborhood_id FROM sets s JOIN people p
          ON p.id = s.person_id WHERE p.archived_at IS NULL)
        SELECT 'all', NULL, measure, count(DISTINCT person_id) FROM sets GROUP BY 3
        UNION ALL SELECT 'race', r.value, w.measure, count(*) FROM who w
          LEFT JOIN person_race_ethnicities r ON r.person_id = w.person_id GROUP BY 2, 3
        UNION ALL SELECT 'nb', neighborhood_id, measure, count(*) FROM who GROUP BY 2, 3
        UNION ALL SELECT 'total', NULL, measure, count(*) FROM who GROUP BY 3"""


def _ensure_equity_data(app) -> None:
    """Races (one neighborhood in six over-represented in the base and rarely a leader), languages
    and a campaign, once per cached database."""
    from organizer.extensions import db

    with app.app_context():
        if db.session.scalar(text("SELECT count(*) FROM person_race_ethnicities")):
            db.session.remove()
            return
        rng = random.Random(5)  # noqa: S311 - benchmark data
        people = db.session.execute(text("SELECT id, neighborhood_id FROM people")).all()
        rows, languages = [], []
        for pid, nb in people:
            weights = [40, 25, 20, 8, 3, 1, 1, 1, 1] if (nb or 0) % 6 == 0 else [15, 30, 35, 10, 4, 2, 1, 2, 1]
            if rng.random() < 0.1:
                continue  # not recorded
            first = rng.choices(RACES, weights)[0]
            rows.append({"p": pid, "v": first})
            if first != "prefer_not_to_say" and rng.random() < 0.06:
                second = rng.choice([r for r in RACES[:-1] if r != first])
                rows.append({"p": pid, "v": second})
            if rng.random() < 0.9:
                languages.append({"p": pid, "l": "es" if first == "hispanic_latino" and rng.random() < 0.6 else "en"})
        with statement_triggers_off(db.session.connection()):  # executemany: a statement per row on PostgreSQL
            db.session.execute(text("INSERT INTO person_race_ethnicities (person_id, value) VALUES (:p, :v)"), rows)
            db.session.execute(text("UPDATE people SET preferred_language = :l WHERE id = :p"), languages)
        now = datetime.now(UTC).replace(tzinfo=None)
        db.session.execute(text("INSERT INTO campaigns (name, issue, status, starts_on, created_at, updated_at) "
                                "VALUES ('Bench campaign', 'housing', 'active', :s, :n, :n)"),
                           {"s": (now - timedelta(days=365)).date(), "n": now})
        cid = db.session.scalar(text("SELECT max(id) FROM campaigns"))
        db.session.execute(text("INSERT INTO campaign_institutions (campaign_id, institution_id) "
                                "SELECT :c, id FROM institutions WHERE id <= 10"), {"c": cid})
        db.session.execute(text("UPDATE actions SET campaign_id = :c WHERE id % 4 = 0"), {"c": cid})
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.session.remove()


def _raw(con: sqlite3.Connection, statements: list[str], params: dict) -> None:
    """Run the statements on an open (warm) connection, as the app's pooled connection is."""
    for sql in statements:
        con.execute(sql, params).fetchall()


TOGGLE_DELIVERED = ("UPDATE sms_outbox SET status = CASE status WHEN 'delivered' THEN 'sent' ELSE 'delivered' END "
                    "WHERE id = ?")


def run() -> None:
    _figures("peer", database_app("peer", build_peer), scorecard=False)
    _figures("large", database_app("large", build_large), scorecard=True)


def _figures(shape: str, app, *, scorecard: bool) -> None:
    from organizer.extensions import db
    from organizer.relational.services import local_today
    from organizer.reports.services import Period, month_starts, default_period
    from organizer.settings.services import get_organization

    from organizer.reports import cache

    _ensure_equity_data(app)
    app.config["REPORTS_CACHE"] = True  # the testing config the benchmark runs under turns it off
    client = logged_in_client(app, ORGANIZER, PASSWORD)
    with app.app_context():
        period: Period = default_period(local_today())
        begin, finish = period.bounds()
        zone = ZoneInfo(get_organization().timezone)
        first = db.session.scalar(text("SELECT id FROM stages ORDER BY position LIMIT 1"))
        leader = db.session.scalar(text("SELECT position FROM stages WHERE name = 'Leader'"))
        campaign = db.session.scalar(text("SELECT id FROM campaigns WHERE name = 'Bench campaign'"))
        starts = db.session.scalar(text("SELECT starts_on FROM campaigns WHERE id = :c"), {"c": campaign})
        path = db.engine.url.database
        db.session.remove()
    naive = {"b": begin.replace(tzinfo=None), "f": finish.replace(tzinfo=None),
             "now": datetime.now(UTC).replace(tzinfo=None), "start": period.start, "end": period.end, "first": first}

    def page(url: str, *, cold: bool = True):
        """The page; ``cold``: with the reports' cache emptied first (as after any write to what it
        counts), else served from the cache (nothing changed since the last view)."""
        def get():
            if cold:
                cache.clear()
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code)
        return get

    months = month_starts(period)
    naive.update({f"m{i}": m for i, m in enumerate(months)})
    equity = [equity_sql(len(months) - 1)]
    # One connection for the whole figure, warmed by timed_ms's untimed first call: the page's
    # pooled connection is warm too, so the ratio compares the same work.
    con = sqlite3.connect(path)
    raw_ms = timed_ms(lambda: _raw(con, equity, naive))
    # The dashboard as a live federation sees it: each view after a write to what it counts (a
    # text's delivery status, as status callbacks write them all through a mobilization). The
    # page counts again only the people the write changed. Cold: the first view after a restart,
    # or of a new period or split, counts everyone. Cached: nothing changed since the last view.
    sent = [row[0] for row in con.execute("SELECT id FROM sms_outbox WHERE status IN ('sent', 'delivered') "
                                          "AND sent_at IS NOT NULL ORDER BY id LIMIT 1000")]
    toggled: list[int] = []

    def a_text_delivered_or_not() -> None:
        toggled.append(sent[len(toggled) % len(sent)])
        con.execute(TOGGLE_DELIVERED, (toggled[-1],))
        con.commit()

    report(f"equity_dashboard[{shape}]", timed_ms(page("/reports/equity", cold=False), prepare=a_text_delivered_or_not),
           "ms", baseline=raw_ms)
    for text_id in toggled:  # every toggle undone: the cached database stays as built
        con.execute(TOGGLE_DELIVERED, (text_id,))
    con.commit()
    report(f"equity_dashboard_cold[{shape}]", timed_ms(page("/reports/equity")), "ms", baseline=raw_ms)
    report(f"equity_dashboard_cached[{shape}]", timed_ms(page("/reports/equity", cold=False)), "ms",
           baseline=raw_ms)
    if scorecard:
        # follow-ups are on time by the federation's calendar: shifted by its UTC offset, as the page does
        offset = int(finish.astimezone(zone).utcoffset().total_seconds() // 60)
        params = {**naive, "c": campaign, "start": starts, "leader": leader, "offset": f"{offset:+d} minutes"}
        # The page computes each measure for the campaign period and the one before (the same
        # dates here: the figure is the work, not the answer).
        raw_ms = timed_ms(lambda: (_raw(con, [*SCORECARD_SQL, SCORECARD_BY_GROUP_SQL], params),
                                   _raw(con, [*SCORECARD_SQL, SCORECARD_TOTALS_SQL], params)))
        report(f"campaign_scorecard[{shape}]", timed_ms(page(f"/campaigns/{campaign}/scorecard")), "ms",
               baseline=raw_ms)
        report(f"campaign_scorecard_cached[{shape}]",
               timed_ms(page(f"/campaigns/{campaign}/scorecard", cold=False)), "ms", baseline=raw_ms)
    con.close()
