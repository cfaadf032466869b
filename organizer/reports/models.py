"""What reports need that no other area records: neighborhoods' populations (census figures),
a campaign's community indicators with their data points, its wins, and its measures' targets."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from organizer.db import UTCDateTime, utcnow
from organizer.extensions import db
from organizer.settings.models import Neighborhood


class NeighborhoodPopulation(db.Model):
    """How many residents of a neighborhood are of one race/ethnicity (for example census figures).

    ``race_ethnicity`` holds a ``RaceEthnicity`` value, or ``multiracial`` for "two or more races".
    """

    __tablename__ = "neighborhood_populations"
    __table_args__ = (
        UniqueConstraint("neighborhood_id", "race_ethnicity"),
        CheckConstraint("population >= 0", name="population_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    neighborhood_id: Mapped[int] = mapped_column(ForeignKey("neighborhoods.id", ondelete="CASCADE"))
    race_ethnicity: Mapped[str] = mapped_column(String(40))
    population: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(255), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    neighborhood: Mapped[Neighborhood] = relationship()


class CommunityIndicator(db.Model):
    """A population result a campaign works to change ("evictions filed per 1,000 renters, Southside")."""

    __tablename__ = "community_indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(80), default="")
    # Whether the campaign wants the number to go up (jobs) or down (evictions).
    higher_is_better: Mapped[bool] = mapped_column(Boolean, default=False)
    baseline_on: Mapped[date | None] = mapped_column(Date)
    target_value: Mapped[float | None] = mapped_column(Float)
    target_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    points: Mapped[list[IndicatorPoint]] = relationship(
        back_populates="indicator", cascade="all, delete-orphan", order_by="IndicatorPoint.observed_on"
    )

    def __str__(self) -> str:
        return self.name


class IndicatorPoint(db.Model):
    """One observed value of an indicator, dated, with where it came from."""

    __tablename__ = "indicator_points"
    __table_args__ = (UniqueConstraint("indicator_id", "observed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("community_indicators.id", ondelete="CASCADE"))
    observed_on: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    indicator: Mapped[CommunityIndicator] = relationship(back_populates="points")


class CampaignWin(db.Model):
    """Something the campaign won, dated ("City Council passed the right-to-counsel ordinance")."""

    __tablename__ = "campaign_wins"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    won_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MeasureTarget(db.Model):
    """The baseline and target staff set for one of a campaign's performance measures."""

    __tablename__ = "campaign_measure_targets"
    __table_args__ = (UniqueConstraint("campaign_id", "measure"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    measure: Mapped[str] = mapped_column(String(40))
    baseline: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)


class ReportDataVersion(db.Model):
    """A change counter for the data the reports count, kept by database triggers (see the
    migration ``reports: data version``) on every write to those tables, from any code path
    (pages, imports, bulk inserts, the worker, raw SQL). ``organizer.reports.cache`` keys cached
    report counts by these rows, so a cached count is only reused while nothing it counts changed.

    One row per writer (SQLite: one; PostgreSQL: one per server process, so concurrent
    transactions never wait on one hot row). ``stamp`` is redrawn at random on every change, so
    a change rolled back and a different change made later never produce the same key.
    """

    __tablename__ = "report_data_versions"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    stamp: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportChange(db.Model):
    """A person whose counted data changed, logged by database triggers (see the migration
    ``reports: changed people``) so the equity dashboard can count that person again instead of
    everyone (``organizer.reports.maintained``). ``person_id`` is NULL for a change that touches
    everyone's counts (the stages, an action's start). ``xid``: PostgreSQL's writing transaction."""

    __tablename__ = "report_changes"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids never reused once pruned: they are cursors

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    person_id: Mapped[int | None] = mapped_column(Integer)  # no foreign key: deleted people are logged too
    xid: Mapped[int | None] = mapped_column(BigInteger, index=True)


class ReportChangeHorizon(db.Model):
    """How far ``report_changes`` has been pruned: a reader whose cursor is below ``horizon`` may
    have missed rows and counts from scratch. ``pending``: where the next pruning will cut."""

    __tablename__ = "report_change_horizon"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    horizon: Mapped[int] = mapped_column(BigInteger)
    pending: Mapped[int] = mapped_column(BigInteger)
