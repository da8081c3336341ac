"""PostgreSQL (the office server): the sync feed for a case manager's own role

Migration 0011 lets a user read only their own entries of the change log (a team lead reads all of it). A
laptop replica synced with the user's own database role needs more: the change numbers of every row the user
may see, whoever changed it. ``kim_visible_entity(entity_type, entity_id)`` decides whether a change record is
about such a row, with the rules of 0011 applied to the row it names (looked up by id; a row that no longer
exists gives false), and a second SELECT policy on ``change_record`` lets a case role read those records:

* names, contact data and the calendar (``MEMBER_ONLY`` of 0011): every active account of this database;
* a case (``case_file``): ``kim_visible_case``; other case content: the table's rule of 0011 on that row;
* directory, code lists, settings, templates, places, teams: every active account;
* accounts (``user_account``): administration only;
* anything else (logs, sync bookkeeping, unknown tables): nobody.

The existing policy (team lead or own entries) stays; permissive policies add up. See
docs/decisions/014-sync.md. Nothing to do on SQLite.

Revision ID: 0012_sync_feed
Revises: 0011_row_security
Create Date: 2026-12-01 10:00:00
"""

from alembic import op

revision = "0012_sync_feed"
down_revision = "0011_row_security"
branch_labels = None
depends_on = None

#: As in 0011 (frozen here: a migration never follows later edits of another one).
MEMBER_ONLY = (
    "person", "person_name_variant", "person_nationality", "person_language", "household", "household_member",
    "person_relation", "search_key", "import_batch", "import_batch_person", "appointment",
    "appointment_participant",
)  # fmt: skip
#: Readable by every active account (0011 ``REFERENCE`` without accounts and the migration table).
SHARED = (
    "code_entry", "setting", "team", "location", "office_hours", "interpreter", "provider", "provider_contact",
    "offer", "letter_template", "import_mapping",
)  # fmt: skip
#: The case-content tables of 0011 ``ROW_RULES`` that have an ``id`` (only those have change records): how the
#: row names its case and person, so that 0011's rule applies: ``kim_visible_case(case)`` when the row names a
#: case, else ``kim_visible_person(person)``, else any case role (``kim_visible_case_or_person``).
#: ``kim_visible_goal``/``kim_visible_referral`` are the case of the goal or referral.
ROW_CASE = {
    "case_phase_change": "SELECT t.case_id, NULL FROM case_phase_change t",
    "assessment": "SELECT t.case_id, NULL FROM assessment t",
    "goal": "SELECT t.case_id, NULL FROM goal t",
    "referral": "SELECT t.case_id, NULL FROM referral t",
    "step": "SELECT g.case_id, NULL FROM step t JOIN goal g ON g.id = t.goal_id",
    "referral_status_change": "SELECT r.case_id, NULL FROM referral_status_change t JOIN referral r ON r.id = t.referral_id",
    "journal_entry": "SELECT t.case_id, t.person_id FROM journal_entry t",
    "document": "SELECT t.case_id, t.person_id FROM document t",
    "follow_up": "SELECT t.case_id, NULL FROM follow_up t",
    "structural_finding": "SELECT t.case_id, NULL FROM structural_finding t",
    "consent": "SELECT NULL, t.person_id FROM consent t",
    "residence_status_change": "SELECT NULL, t.person_id FROM residence_status_change t",
}
SIGNATURE = "kim_visible_entity(text, varchar)"
POLICY = "kim_sync_feed"


def _quoted(names) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _function(path: str) -> str:
    # PL/pgSQL keeps the plans of its queries for the session; the SQL functions of 0011 are planned again at
    # every call from here. The pull checks every change record in its range, so the common case – a row
    # that names its case – is decided by one lookup and the rule of kim_visible_case written out below
    # (the same rule; tests/test_postgres_rls.py and tests/test_sync_postgres.py check both).
    branches = "\n".join(
        f"""    ELSIF kind = '{table}' THEN
        {query.replace(" FROM ", " INTO case_ref, person_ref FROM ", 1)} WHERE t.id = wanted;
        IF NOT FOUND THEN
            RETURN false;  -- a row that no longer exists
        END IF;"""
        for table, query in ROW_CASE.items()
    )
    return f"""
CREATE FUNCTION kim_visible_entity(entity_type text, entity_id varchar) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
DECLARE
    kind text := entity_type;
    wanted varchar := entity_id;
    me_id varchar;
    me_team varchar;
    me_lead boolean;
    me_casework boolean;
    case_ref varchar;
    person_ref varchar;
BEGIN
    SELECT u.id, u.team_id,
           EXISTS (SELECT 1 FROM user_role r WHERE r.user_id = u.id AND r.role = 'team_lead'),
           EXISTS (SELECT 1 FROM user_role r WHERE r.user_id = u.id AND r.role IN ('case_management', 'team_lead'))
      INTO me_id, me_team, me_lead, me_casework
      FROM user_account u
     WHERE u.db_role = session_user AND u.active AND u.deleted_at IS NULL;
    IF me_id IS NULL THEN
        RETURN false;
    ELSIF kind IN ({_quoted(MEMBER_ONLY)}) OR kind IN ({_quoted(SHARED)}) THEN
        RETURN true;
    ELSIF kind = 'user_account' THEN
        RETURN EXISTS (SELECT 1 FROM user_role r WHERE r.user_id = me_id AND r.role = 'admin');
    ELSIF kind = 'case_file' THEN
        case_ref := wanted;
{branches}
    ELSE
        RETURN false;
    END IF;
    IF case_ref IS NULL THEN
        IF person_ref IS NOT NULL THEN
            RETURN kim_visible_person(person_ref);
        END IF;
        RETURN me_casework;
    END IF;
    -- kim_visible_case (0011): own case, shared and not expired, the team's for a team lead.
    RETURN me_casework AND EXISTS (
        SELECT 1 FROM case_file c
        WHERE c.id = case_ref AND (
            c.case_manager_id = me_id
            OR EXISTS (SELECT 1 FROM case_share s WHERE s.case_id = c.id AND s.user_id = me_id
                       AND (s.until IS NULL OR s.until >= current_date))
            OR (me_lead AND me_team IS NOT NULL AND (
                c.team_id = me_team
                OR EXISTS (SELECT 1 FROM user_account m WHERE m.id = c.case_manager_id AND m.team_id = me_team)))
        )
    );
END
$$;
"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar()
    op.execute(_function(f'SET search_path = pg_catalog, "{schema}"'))
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO kim_user")
    # ``(SELECT kim_case_role())`` is evaluated once per query, the entity check only for the rows the
    # query's own conditions (the pull's ``seq`` range, served by the primary key) leave.
    op.execute(
        f"CREATE POLICY {POLICY} ON change_record FOR SELECT "
        "USING ((SELECT kim_case_role()) AND kim_visible_entity(entity_type, entity_id))"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(f"DROP POLICY IF EXISTS {POLICY} ON change_record")
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
