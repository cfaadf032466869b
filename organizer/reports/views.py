"""Reports pages, for organizers and admins only: race/ethnicity is staff-only, so a leader (or
anyone else) asking for any report gets 404, as if it did not exist."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import ParamSpec, TypeVar

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from organizer.auth.access import admin_required, staff_or_404
from organizer.db import writes_on_get
from organizer.extensions import db
from organizer.relational.services import local_today
from organizer.reports import scorecard as sc
from organizer.reports.forms import (
    IndicatorForm,
    IndicatorPointForm,
    MeasureTargetForm,
    PopulationForm,
    PopulationImportForm,
    WinForm,
)
from organizer.reports.services import (
    PARITY_THRESHOLD,
    POPULATION_KEYS,
    RACE_MODES,
    RATES,
    SECTIONS,
    SPLITS,
    TRENDS,
    EquityQuery,
    Period,
    ReportError,
    bar_chart,
    default_period,
    equity_csv,
    equity_report,
    import_populations,
    population_label,
    populations,
    representation_chart,
    set_population,
    trend_chart,
)
from organizer.settings.models import Neighborhood
from organizer.web import date_arg

bp = Blueprint("reports", __name__)

P = ParamSpec("P")
R = TypeVar("R")


def _date_arg(name: str, default: date) -> date:
    """``web.date_arg``: a date a report can be counted over, else ``default``."""
    return date_arg(name) or default


def _query() -> EquityQuery:
    """The report asked for in the query string; unknown values fall back to the defaults."""
    fallback = default_period(local_today())
    start, end = _date_arg("start", fallback.start), _date_arg("end", fallback.end)
    if end < start:
        start, end = end, start
    args = request.args
    return EquityQuery(
        Period(start, end),
        split=args.get("split") if args.get("split") in SPLITS else "race",
        race_mode=args.get("race_mode") if args.get("race_mode") in RACE_MODES else "combination",
        trend=args.get("trend") if args.get("trend") in TRENDS else "one_to_ones",
        threshold=current_app.config["REPORTS_SUPPRESSION_THRESHOLD"],
    )


@bp.get("/reports/")
@staff_or_404
def index():
    return redirect(url_for("reports.equity"))


@bp.get("/reports/data-quality")
@staff_or_404
def data_quality():
    """What is missing or doubtful in the people records, each count linking to the list."""
    from organizer.people.quality import CHECKS, quality_counts

    return render_template("reports/data_quality.html", counts=quality_counts(current_user), checks=CHECKS)


@bp.get("/reports/equity")
@staff_or_404
def equity():
    report = equity_report(_query())
    charts = {section: bar_chart(report, section) for section in SECTIONS}
    return render_template(
        "reports/equity.html", report=report, q=report.query, splits=SPLITS, race_modes=RACE_MODES,
        trends=TRENDS, sections=SECTIONS, rates=RATES, charts=charts, trend_chart=trend_chart(report),
        representation_chart=representation_chart(report), parity_threshold=PARITY_THRESHOLD,
    )


@bp.get("/reports/equity.csv")
@writes_on_get  # its audit event
@staff_or_404
def equity_export():
    report = equity_report(_query())
    body = equity_csv(report, current_user)
    db.session.commit()  # the audit event
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=equity.csv"})


# --- neighborhoods' populations --------------------------------------------------------------


@bp.get("/reports/populations")
@staff_or_404
def population_page():
    form, upload = _population_form(), PopulationImportForm()
    return render_template("reports/populations.html", rows=populations(), form=form, upload=upload,
                           label=population_label, keys=POPULATION_KEYS)


def _population_form() -> PopulationForm:
    form = PopulationForm()
    form.neighborhood_id.choices = [(n.id, n.name) for n in db.session.scalars(
        select(Neighborhood).order_by(Neighborhood.name))]
    form.race_ethnicity.choices = [(k, population_label(k)) for k in POPULATION_KEYS]
    return form


def admin_only(view: Callable[P, R]) -> Callable[P, R]:
    """Admins only; other staff get 403 (``admin_required``) and leaders 404 (``staff_or_404``)."""
    return staff_or_404(admin_required(view))


@bp.post("/reports/populations")
@admin_only
def population_save():
    form = _population_form()
    if form.validate_on_submit():
        neighborhood = db.get_or_404(Neighborhood, form.neighborhood_id.data)
        try:
            changed = set_population(neighborhood, form.race_ethnicity.data, form.population.data,
                                     form.source.data or "", current_user)
        except ReportError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash(_("Population saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("reports.population_page"))
    return render_template("reports/populations.html", rows=populations(), form=form,
                           upload=PopulationImportForm(), label=population_label, keys=POPULATION_KEYS), 200


@bp.post("/reports/populations/import")
@admin_only
def population_import():
    upload = PopulationImportForm()
    if upload.validate_on_submit():
        try:
            text = upload.file.data.read().decode("utf-8-sig")
            changed = import_populations(text, current_user)
        except UnicodeDecodeError:
            db.session.rollback()
            flash(_("The file is not UTF-8 text."), "danger")
        except ReportError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash(_("%(n)d figures imported.", n=changed), "success")
            return redirect(url_for("reports.population_page"))
    return render_template("reports/populations.html", rows=populations(), form=_population_form(),
                           upload=upload, label=population_label, keys=POPULATION_KEYS), 200


# --- campaign scorecards ---------------------------------------------------------------------


@bp.get("/campaigns/<int:campaign_id>/scorecard")
@staff_or_404
def scorecard(campaign_id: int):
    campaign = sc.get_campaign(campaign_id)
    card = sc.scorecard(campaign, local_today(), current_app.config["REPORTS_SUPPRESSION_THRESHOLD"])
    target_form = MeasureTargetForm()
    target_form.measure.choices = [(m.key, str(m.label)) for m in card.measures]
    return render_template("reports/scorecard.html", campaign=campaign, card=card,
                           indicator_form=IndicatorForm(), point_form=IndicatorPointForm(), win_form=WinForm(),
                           target_form=target_form, quadrants=sc.QUADRANTS,
                           threshold=current_app.config["REPORTS_SUPPRESSION_THRESHOLD"])


def _back(campaign_id: int):
    return redirect(url_for("reports.scorecard", campaign_id=campaign_id))


def _form_errors(form) -> None:
    for field, errors in form.errors.items():
        label = getattr(form, field).label.text if hasattr(form, field) else field
        flash(f"{label}: {' '.join(str(e) for e in errors)}", "danger")


@bp.post("/campaigns/<int:campaign_id>/scorecard/indicators")
@staff_or_404
def add_indicator(campaign_id: int):
    campaign = sc.get_campaign(campaign_id)
    form = IndicatorForm()
    if form.validate_on_submit():
        sc.add_indicator(campaign, sc.IndicatorData(
            name=form.name.data, unit=form.unit.data or "", higher_is_better=form.higher_is_better.data,
            baseline_on=form.baseline_on.data, target_value=form.target_value.data, target_on=form.target_on.data,
        ), current_user)
        db.session.commit()
        flash(_("Indicator added."), "success")
    else:
        _form_errors(form)
    return _back(campaign_id)


@bp.post("/campaigns/<int:campaign_id>/scorecard/points")
@staff_or_404
def add_point(campaign_id: int):
    campaign = sc.get_campaign(campaign_id)
    form = IndicatorPointForm()
    if form.validate_on_submit():
        indicator = sc.get_indicator(campaign, form.indicator_id.data)
        try:
            sc.add_point(indicator, form.observed_on.data, form.value.data, form.source.data, current_user)
        except sc.ScorecardError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash(_("Data point added."), "success")
    else:
        _form_errors(form)
    return _back(campaign_id)


@bp.post("/campaigns/<int:campaign_id>/scorecard/wins")
@staff_or_404
def add_win(campaign_id: int):
    campaign = sc.get_campaign(campaign_id)
    form = WinForm()
    if form.validate_on_submit():
        sc.add_win(campaign, form.won_on.data, form.description.data, current_user)
        db.session.commit()
        flash(_("Win recorded."), "success")
    else:
        _form_errors(form)
    return _back(campaign_id)


@bp.post("/campaigns/<int:campaign_id>/scorecard/targets")
@staff_or_404
def set_target(campaign_id: int):
    campaign = sc.get_campaign(campaign_id)
    form = MeasureTargetForm()
    form.measure.choices = [(key, key) for key in sc.MEASURE_KEYS]
    if form.validate_on_submit():
        changed = sc.set_measure_target(campaign, form.measure.data, form.baseline.data, form.target.data,
                                        current_user)
        db.session.commit()
        flash(_("Baseline and target saved.") if changed else _("Nothing changed."), "success")
    else:
        _form_errors(form)
    return _back(campaign_id)
