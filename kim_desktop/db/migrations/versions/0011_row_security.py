"""PostgreSQL (the office server): group roles, table privileges and row-level security

Each user logs in with their own PostgreSQL role (``kim_<username>``, made by ``kim-desktop users add``), a
member of ``kim_user`` and of one group role per app role: ``kim_case_management``, ``kim_team_lead``,
``kim_reception``, ``kim_admin``. The privileges below say which tables a role may touch at all; the
policies say which rows: case content only of the cases the user may see (own, shared and not expired, the
team's for a team lead), the same rule as ``services.permissions.visible_case_clause``. The audit trail is
append-only for everyone (no UPDATE or DELETE privilege). The schema owner (who runs the migrations) is not
subject to the policies (no FORCE ROW LEVEL SECURITY): migrations, seeding and maintenance need every row.
See docs/decisions/013-postgresql.md. Nothing to do on SQLite.

The group roles exist once per server (PostgreSQL roles are cluster-wide); they are made here when missing
(the migrating role needs CREATEROLE, or IT makes them beforehand) and never dropped by a downgrade.

Revision ID: 0011_row_security
Revises: 0010_sync
Create Date: 2026-11-30 10:00:00
"""

from alembic import op

revision = "0011_row_security"
down_revision = "0010_sync"
branch_labels = None
depends_on = None

USER = "kim_user"
CASE_ROLES = ("kim_case_management", "kim_team_lead")
RECEPTION = "kim_reception"
ADMIN = "kim_admin"
GROUP_ROLES = (USER, *CASE_ROLES, RECEPTION, ADMIN)

#: Readable by every user; written by administration (code lists, settings, accounts, directory …).
REFERENCE = (
    "code_entry", "setting", "team", "user_account", "user_role", "location", "office_hours", "interpreter",
    "provider", "provider_contact", "offer", "letter_template", "import_mapping", "alembic_version",
)  # fmt: skip
#: The directory of offers: case work maintains it, too (``directory.write``).
DIRECTORY = ("interpreter", "provider", "provider_contact", "offer")
#: Names and contact data: readable by every user of this database, written by case work.
PERSON_BASIC = (
    "person", "person_name_variant", "person_nationality", "person_language", "household", "household_member",
    "person_relation", "search_key", "import_batch", "import_batch_person",
)  # fmt: skip
#: The calendar: reception books appointments, too.
CALENDAR = ("appointment", "appointment_participant")
#: Case content: case roles only, rows of visible cases (policies below).
CASE_CONTENT = (
    "case_file", "case_member", "case_share", "case_phase_change", "assessment", "goal", "step", "journal_entry",
    "follow_up", "structural_finding", "referral", "referral_status_change", "consent", "document",
    "residence_status_change",
)  # fmt: skip
#: Sync's tables (office receipts, laptop state): case work, which is what travels.
SYNC = ("sync_receipt", "replica_state", "sync_conflict")
#: Append-only logs: INSERT for every user, SELECT by policy, never UPDATE or DELETE.
LOGS = ("audit_event", "change_record", "deletion_protocol")
#: SQLite key slots (unused on a server): administration only.
ADMIN_ONLY = ("key_slot",)

#: Policies per case-content table: the row's visibility as an SQL expression.
ROW_RULES = {
    "case_file": "kim_visible_case(id)",
    "case_member": "kim_visible_case(case_id)",
    "case_share": "kim_visible_case(case_id)",
    "case_phase_change": "kim_visible_case(case_id)",
    "assessment": "kim_visible_case(case_id)",
    "goal": "kim_visible_case(case_id)",
    "referral": "kim_visible_case(case_id)",
    "step": "kim_visible_goal(goal_id)",
    "referral_status_change": "kim_visible_referral(referral_id)",
    "journal_entry": "kim_visible_case_or_person(case_id, person_id)",
    "document": "kim_visible_case_or_person(case_id, person_id)",
    "follow_up": "kim_visible_case_or_person(case_id, NULL)",
    "structural_finding": "kim_visible_case_or_person(case_id, NULL)",
    "consent": "kim_visible_person(person_id)",
    "residence_status_change": "kim_visible_person(person_id)",
}
#: Personal data outside the case content: readable only by an active account of this database (roles are
#: cluster-wide; a member of ``kim_reception`` from another office's database sees nothing here).
MEMBER_ONLY = (*PERSON_BASIC, *CALENDAR)

FUNCTIONS = """
CREATE FUNCTION kim_user_id() RETURNS varchar LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT u.id FROM user_account u
    WHERE u.db_role = session_user AND u.active AND u.deleted_at IS NULL
$$;
CREATE FUNCTION kim_has_role(wanted text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT EXISTS (SELECT 1 FROM user_role r WHERE r.user_id = kim_user_id() AND r.role = wanted)
$$;
CREATE FUNCTION kim_case_role() RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT EXISTS (
        SELECT 1 FROM user_role r
        WHERE r.user_id = kim_user_id() AND r.role IN ('case_management', 'team_lead')
    )
$$;
-- The rule of services.permissions.can_see_case: own case, shared and not expired, the team's for a team lead.
CREATE FUNCTION kim_visible_case(wanted varchar) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    WITH me AS (
        SELECT u.id, u.team_id,
               EXISTS (SELECT 1 FROM user_role r WHERE r.user_id = u.id AND r.role = 'team_lead') AS lead,
               EXISTS (SELECT 1 FROM user_role r WHERE r.user_id = u.id
                       AND r.role IN ('case_management', 'team_lead')) AS casework
        FROM user_account u
        WHERE u.db_role = session_user AND u.active AND u.deleted_at IS NULL
    )
    SELECT EXISTS (
        SELECT 1 FROM me JOIN case_file c ON c.id = wanted
        WHERE me.casework AND (
            c.case_manager_id = me.id
            OR EXISTS (SELECT 1 FROM case_share s WHERE s.case_id = c.id AND s.user_id = me.id
                       AND (s.until IS NULL OR s.until >= current_date))
            OR (me.lead AND me.team_id IS NOT NULL AND (
                c.team_id = me.team_id
                OR EXISTS (SELECT 1 FROM user_account m WHERE m.id = c.case_manager_id AND m.team_id = me.team_id)))
        )
    )
$$;
-- services.permissions.ensure_person_case_data_visible: a person without a live case is open to every case
-- role; otherwise one of the person's live cases (as client or member) must be visible.
CREATE FUNCTION kim_visible_person(wanted varchar) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    WITH cases AS (
        SELECT c.id FROM case_file c
        WHERE c.deleted_at IS NULL AND (
            c.person_id = wanted
            OR EXISTS (SELECT 1 FROM case_member m WHERE m.case_id = c.id AND m.person_id = wanted))
    )
    SELECT kim_case_role() AND (
        NOT EXISTS (SELECT 1 FROM cases) OR EXISTS (SELECT 1 FROM cases WHERE kim_visible_case(cases.id))
    )
$$;
CREATE FUNCTION kim_visible_case_or_person(case_ref varchar, person_ref varchar) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT CASE
        WHEN case_ref IS NOT NULL THEN kim_visible_case(case_ref)
        WHEN person_ref IS NOT NULL THEN kim_visible_person(person_ref)
        ELSE kim_case_role()
    END
$$;
CREATE FUNCTION kim_visible_goal(wanted varchar) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT COALESCE((SELECT kim_visible_case(g.case_id) FROM goal g WHERE g.id = wanted), false)
$$;
CREATE FUNCTION kim_visible_referral(wanted varchar) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT COALESCE((SELECT kim_visible_case(r.case_id) FROM referral r WHERE r.id = wanted), false)
$$;
-- Logins (services.server_roles): only administration, only roles named kim_… that are KIM users or new,
-- only the KIM group roles. The password arrives as a SCRAM verifier, never as plain text.
CREATE FUNCTION kim_create_login(login text, verifier text, app_roles text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
DECLARE
    app_role text;
BEGIN
    PERFORM kim_check_login(login, true);
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login) THEN
        EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', login, verifier);
    ELSE
        EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', login, verifier);
    END IF;
    EXECUTE format('GRANT kim_user TO %I', login);
    FOREACH app_role IN ARRAY app_roles LOOP
        IF app_role NOT IN ('case_management', 'team_lead', 'reception', 'admin') THEN
            RAISE EXCEPTION 'unknown app role';
        END IF;
        EXECUTE format('GRANT %I TO %I', 'kim_' || app_role, login);
    END LOOP;
END
$$;
CREATE FUNCTION kim_check_login(login text, may_be_new boolean) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
BEGIN
    IF session_user <> (SELECT tableowner FROM pg_tables WHERE schemaname = '{schema}'
                        AND tablename = 'user_account')
       AND NOT kim_has_role('admin')
       AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
        RAISE EXCEPTION 'permission denied: user management' USING ERRCODE = '42501';
    END IF;
    IF login !~ '^kim_[a-z0-9][a-z0-9._-]{{1,39}}$' OR login IN ('kim_user', 'kim_case_management',
       'kim_team_lead', 'kim_reception', 'kim_admin') THEN
        RAISE EXCEPTION 'not a KIM login name' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login) THEN
        -- A role not made by KIM Desktop (or given more rights since) is left alone.
        IF NOT pg_has_role(login, 'kim_user', 'MEMBER') OR (
            SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls
            FROM pg_roles WHERE rolname = login) THEN
            RAISE EXCEPTION 'role exists and is not a KIM login' USING ERRCODE = '42710';
        END IF;
    ELSIF NOT may_be_new THEN
        RAISE EXCEPTION 'no such KIM login' USING ERRCODE = '42704';
    END IF;
END
$$;
CREATE FUNCTION kim_set_login_password(login text, verifier text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
BEGIN
    PERFORM kim_check_login(login, false);
    EXECUTE format('ALTER ROLE %I PASSWORD %L', login, verifier);
END
$$;
CREATE FUNCTION kim_disable_login(login text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
BEGIN
    PERFORM kim_check_login(login, false);
    EXECUTE format('ALTER ROLE %I NOLOGIN', login);
END
$$;
"""

#: The audit trail is append-only even for the schema owner: a trigger refuses every UPDATE and DELETE.
APPEND_ONLY = """
CREATE FUNCTION kim_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only' USING ERRCODE = '42501';
END
$$;
CREATE TRIGGER kim_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION kim_append_only();
"""

FUNCTION_SIGNATURES = (
    "kim_disable_login(text)",
    "kim_set_login_password(text, text)",
    "kim_create_login(text, text, text[])",
    "kim_check_login(text, boolean)",
    "kim_visible_referral(varchar)",
    "kim_visible_goal(varchar)",
    "kim_visible_case_or_person(varchar, varchar)",
    "kim_visible_person(varchar)",
    "kim_visible_case(varchar)",
    "kim_case_role()",
    "kim_has_role(text)",
    "kim_user_id()",
)

#: Who may read the logs: the team lead everything (``audit.read``), everyone else their own rows (which an
#: INSERT … RETURNING needs, too).
LOG_READ = "kim_has_role('team_lead') OR user_id = (SELECT kim_user_id())"


def _create_group_roles() -> None:
    names = ", ".join(f"'{name}'" for name in GROUP_ROLES)
    op.execute(
        f"""
        DO $$
        DECLARE
            name text;
        BEGIN
            FOREACH name IN ARRAY ARRAY[{names}] LOOP
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
                    BEGIN
                        EXECUTE format('CREATE ROLE %I NOLOGIN', name);
                    EXCEPTION WHEN duplicate_object OR unique_violation THEN
                        NULL;  -- another database of this server made it at the same moment
                    END;
                END IF;
            END LOOP;
        END
        $$
        """
    )


def _grant(privileges: str, tables, *roles: str) -> None:
    op.execute(f"GRANT {privileges} ON {', '.join(tables)} TO {', '.join(roles)}")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar()
    path = f'SET search_path = pg_catalog, "{schema}"'
    _create_group_roles()
    op.execute(FUNCTIONS.format(path=path, schema=schema))
    for signature in FUNCTION_SIGNATURES:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    for signature in FUNCTION_SIGNATURES[4:]:
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO kim_user")
    for signature in FUNCTION_SIGNATURES[:3]:
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {ADMIN}")
    op.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO kim_user')
    op.execute(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{schema}" TO kim_user')

    everyone = (USER,)
    _grant("SELECT", (*REFERENCE, *PERSON_BASIC), *everyone)
    _grant("SELECT, INSERT, UPDATE, DELETE", REFERENCE[:-1], ADMIN)  # not alembic_version
    _grant("SELECT, INSERT, UPDATE, DELETE", ADMIN_ONLY, ADMIN)
    _grant("SELECT, INSERT, UPDATE, DELETE", DIRECTORY, *CASE_ROLES)
    _grant("SELECT, INSERT, UPDATE, DELETE", PERSON_BASIC, *CASE_ROLES)
    _grant("SELECT, INSERT, UPDATE, DELETE", CALENDAR, *CASE_ROLES, RECEPTION)
    _grant("SELECT, INSERT, UPDATE, DELETE", CASE_CONTENT, *CASE_ROLES)
    _grant("SELECT, INSERT, UPDATE, DELETE", SYNC, *CASE_ROLES)
    _grant("SELECT, INSERT", LOGS, *everyone)
    # Retention empties the values of a person's change history (team lead); nothing else changes a log.
    op.execute("GRANT UPDATE (old_value, new_value) ON change_record TO kim_team_lead")
    op.execute(APPEND_ONLY)

    for table, rule in ROW_RULES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY kim_rows ON {table} FOR SELECT USING ({rule})")
        op.execute(f"CREATE POLICY kim_delete ON {table} FOR DELETE USING ({rule})")
        if table == "case_file":
            # A new case may name any case manager, a handover gives the case away: any case role may
            # write the values, provided it could see the row before.
            op.execute("CREATE POLICY kim_insert ON case_file FOR INSERT WITH CHECK (kim_case_role())")
            op.execute(
                f"CREATE POLICY kim_update ON case_file FOR UPDATE USING ({rule}) WITH CHECK (kim_case_role())"
            )
        else:
            op.execute(f"CREATE POLICY kim_insert ON {table} FOR INSERT WITH CHECK ({rule})")
            op.execute(f"CREATE POLICY kim_update ON {table} FOR UPDATE USING ({rule}) WITH CHECK ({rule})")
    # Settings: administration writes them; case work keeps the file number counters, the import mappings
    # and the office id (sync) there, and may write only those keys.
    _grant("INSERT, UPDATE", ("setting",), *CASE_ROLES)
    op.execute("ALTER TABLE setting ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY kim_rows ON setting FOR SELECT USING (true)")
    op.execute(f"CREATE POLICY kim_admin ON setting TO {ADMIN} USING (true) WITH CHECK (true)")
    casework_keys = "key LIKE 'file\\_number\\_counter:%' OR key IN ('person_import_mappings', 'office_id')"
    op.execute(
        f"CREATE POLICY kim_casework ON setting TO {', '.join(CASE_ROLES)} "
        f"USING ({casework_keys}) WITH CHECK ({casework_keys})"
    )
    member = "(SELECT kim_user_id()) IS NOT NULL"
    for table in MEMBER_ONLY:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY kim_rows ON {table} USING ({member}) WITH CHECK ({member})")
    for table in LOGS:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY kim_insert ON {table} FOR INSERT WITH CHECK ({member})")
        op.execute(f"CREATE POLICY kim_rows ON {table} FOR SELECT USING ({LOG_READ})")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar()
    for table in (*ROW_RULES, *MEMBER_ONLY, *LOGS, "setting"):
        for policy in ("kim_rows", "kim_insert", "kim_update", "kim_delete", "kim_admin", "kim_casework"):
            op.execute(f"DROP POLICY IF EXISTS {policy} ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    tables = ", ".join(
        sorted({*REFERENCE, *PERSON_BASIC, *CALENDAR, *CASE_CONTENT, *SYNC, *LOGS, *ADMIN_ONLY})
    )
    op.execute(f"REVOKE ALL ON {tables} FROM {', '.join(GROUP_ROLES)}")
    op.execute(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA "{schema}" FROM kim_user')
    op.execute(f'REVOKE USAGE ON SCHEMA "{schema}" FROM kim_user')
    op.execute("DROP TRIGGER IF EXISTS kim_append_only ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS kim_append_only()")
    for signature in FUNCTION_SIGNATURES:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
