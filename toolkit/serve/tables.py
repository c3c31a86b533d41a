"""The service's tables (SQLAlchemy Core). Rows are only ever added or, for links, marked revoked:
nothing is deleted, so the event log and every upload stay traceable."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
)

rounds = Table(
    "rounds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("form_id", String(100), nullable=False),
    Column("year", Integer, nullable=False),
    Column("deadline", String(10)),  # YYYY-MM-DD, the last day (Beijing time)
    Column("created_at", String(40), nullable=False),
)

agencies = Table(
    "agencies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("round_id", Integer, ForeignKey("rounds.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("contact", String(200), nullable=False, default=""),
    Column("phone", String(100), nullable=False, default=""),
    Column("position", Integer, nullable=False),
    UniqueConstraint("round_id", "name"),
)

links = Table(
    "links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 of the token; the token is never stored
    Column("created_at", String(40), nullable=False),
    Column("revoked_at", String(40)),
)

blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("stored_at", String(40), nullable=False),
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("sha256", String(64), ForeignKey("blobs.sha256"), nullable=False),
    Column("filename", String(300), nullable=False),
    Column("size", Integer, nullable=False),
    Column("received_at", String(40), nullable=False),
    Column("status", String(20), nullable=False),  # accepted | rejected | unreadable | refused
    Column("errors", Integer, nullable=False),
    Column("warnings", Integer, nullable=False),
    Column("problems", Text, nullable=False),  # JSON list, exactly as `check --json`
    Column("refusal", Text),  # why the file is not this link's return (another agency or year)
    Column("file_agency", String(200), nullable=False, default=""),
    Column("file_year", Integer),
    Column("values_json", Text, nullable=False, default="{}"),  # cell id -> value, for the diff of two uploads
    Column("duplicate_of", Integer),  # an identical earlier upload of the same agency: the file is stored once
)
Index("ix_uploads_agency", uploads.c.agency_id)
Index("ix_uploads_sha", uploads.c.sha256)

submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("upload_id", Integer, ForeignKey("uploads.id"), nullable=False),
    Column("explanations", Text, nullable=False),  # JSON object: warning key -> 说明
    Column("submitted_at", String(40), nullable=False),
)
Index("ix_submissions_agency", submissions.c.agency_id)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False),
    Column("decision", String(10), nullable=False),  # approve | return
    Column("comment", Text, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id")),
    Column("reviewed_at", String(40), nullable=False),
)
Index("ix_reviews_submission", reviews.c.submission_id)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", String(40), nullable=False),
    Column("actor", String(200), nullable=False),  # user:NAME | agency:ID | cli | system
    Column("kind", String(40), nullable=False),
    Column("round_id", Integer),
    Column("agency_id", Integer),
    Column("subject", String(200), nullable=False, default=""),  # e.g. the login name tried
    Column("ip", String(64), nullable=False, default=""),
    Column("detail", Text, nullable=False, default="{}"),
)
Index("ix_events_kind_subject", events.c.kind, events.c.subject, events.c.at)
Index("ix_events_kind_ip", events.c.kind, events.c.ip, events.c.at)

collections = Table(
    "collections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("round_id", Integer, ForeignKey("rounds.id"), nullable=False),
    Column("state", String(10), nullable=False),  # running | done | failed
    Column("done", Integer, nullable=False, default=0),
    Column("total", Integer, nullable=False, default=0),
    Column("uploads", Text, nullable=False, default="[]"),  # the approved upload ids it was made from
    Column("error", Text, nullable=False, default=""),
    Column("started_at", String(40), nullable=False),
    Column("finished_at", String(40)),
)
