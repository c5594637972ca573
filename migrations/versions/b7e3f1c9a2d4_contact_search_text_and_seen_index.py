"""contact search_text (folded name, email, phone) with a pg_trgm index; contacts by last seen

Revision ID: b7e3f1c9a2d4
Revises: b6ec4c88c7b6
Create Date: 2026-11-27 18:50:00

"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "b7e3f1c9a2d4"
down_revision = "b6ec4c88c7b6"
branch_labels = None
depends_on = None


def _fold(text):
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _search_text(name, email, phone):
    # the same as app.contacts.search.search_text at the time of this migration
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return " ".join(part for part in (_fold(name), _fold(email), _fold(phone), digits) if part)


def upgrade():
    with op.batch_alter_table("contact") as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
        batch_op.create_index("ix_contact_org_seen", ["organization_id", "last_seen_at", "id"], unique=False)
    bind = op.get_bind()
    contact = sa.table("contact", sa.column("id", sa.Uuid()), sa.column("name", sa.String()),
                       sa.column("email", sa.String()), sa.column("phone", sa.String()),
                       sa.column("search_text", sa.Text()))
    rows = bind.execute(sa.select(contact.c.id, contact.c.name, contact.c.email, contact.c.phone)).all()
    for row in rows:
        bind.execute(contact.update().where(contact.c.id == row.id).values(
            search_text=_search_text(row.name, row.email, row.phone)))
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index("ix_contact_search_trgm", "contact", ["search_text"], unique=False,
                        postgresql_using="gin", postgresql_ops={"search_text": "gin_trgm_ops"})
    else:  # the model declares the index on every database; elsewhere it is a plain one
        op.create_index("ix_contact_search_trgm", "contact", ["search_text"], unique=False)


def downgrade():
    op.drop_index("ix_contact_search_trgm", table_name="contact")
    with op.batch_alter_table("contact") as batch_op:
        batch_op.drop_index("ix_contact_org_seen")
        batch_op.drop_column("search_text")
