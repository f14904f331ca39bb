-- The chain's store of record on PostgreSQL (issue 19). Applied by `raiten chain init` as a
-- role that may create roles and bypass row-level security (the server's administrator).
--
-- Every row carries operator_id; every table has row-level security enabled AND forced, so
-- even raiten_owner, which owns the tables and runs the SECURITY DEFINER functions, sees only
-- the rows of the operator of the session user. Store roles (members of raiten_store) may
-- only call the sync functions (raiten.push, raiten.pull, raiten.stores, raiten.pull_stats,
-- raiten.held_stats); an operator's enrolment role (member of raiten_enrol) may only call
-- raiten.enrol. The server holds template ciphertext it cannot
-- decrypt: the gallery key stays with the operator's stores.
--
-- Idempotent: running it again on a server that has it changes nothing.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'raiten_owner') THEN
        -- CREATEROLE: raiten.enrol creates the store roles.
        CREATE ROLE raiten_owner NOLOGIN CREATEROLE NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'raiten_store') THEN
        CREATE ROLE raiten_store NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'raiten_enrol') THEN
        CREATE ROLE raiten_enrol NOLOGIN NOBYPASSRLS;
    END IF;
END $$;

-- The administrator running this must be able to hand objects to raiten_owner; raiten_owner
-- adds store roles to raiten_store (PostgreSQL 16 asks for the admin option for that).
GRANT raiten_owner TO CURRENT_USER;
GRANT raiten_store TO raiten_owner WITH ADMIN OPTION;
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO raiten_store, raiten_enrol',
                   current_database());
END $$;

CREATE SCHEMA IF NOT EXISTS raiten AUTHORIZATION raiten_owner;
REVOKE ALL ON SCHEMA raiten FROM PUBLIC;
GRANT USAGE ON SCHEMA raiten TO raiten_store, raiten_enrol;

SET LOCAL ROLE raiten_owner;
SET LOCAL search_path = raiten, pg_catalog;

CREATE TABLE IF NOT EXISTS raiten.operator (
    operator_id uuid PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Tombstones at or below this change number were purged: a store whose cursor is below it
    -- must pull the whole gallery again.
    horizon_change bigint NOT NULL DEFAULT 0,
    -- How long tombstones are kept: at least the longest offline period a store may have.
    tombstone_days integer NOT NULL DEFAULT 90 CHECK (tombstone_days >= 1),
    -- Set when personal data was deleted; raiten.scrub's caller clears it after VACUUM FULL.
    scrub_due boolean NOT NULL DEFAULT false
);

-- Which database role acts for which operator (and store): the session user decides the
-- operator, nothing the client sends.
CREATE TABLE IF NOT EXISTS raiten.member (
    role_name name PRIMARY KEY,
    operator_id uuid NOT NULL REFERENCES raiten.operator,
    store_id uuid,
    kind text NOT NULL CHECK (kind IN ('store', 'enrol'))
);

CREATE TABLE IF NOT EXISTS raiten.store (
    operator_id uuid NOT NULL REFERENCES raiten.operator,
    store_id uuid PRIMARY KEY,
    name text NOT NULL,
    role_name name NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    -- The highest outbox sequence number of this store applied: pushes are idempotent by it.
    pushed_seq bigint NOT NULL DEFAULT 0,
    -- [{"seq", "kind", "key"}] of the last batch applied: a batch sent again because its
    -- answer was lost repeats these exactly; anything else at or below pushed_seq comes from
    -- a store database restored from a backup, whose numbers start again lower.
    last_batch jsonb NOT NULL DEFAULT '[]',
    last_contact timestamptz NOT NULL,
    UNIQUE (operator_id, name)
);

CREATE SEQUENCE IF NOT EXISTS raiten.change_seq;

-- The shared gallery: one row per live visitor, its templates as one opaque blob (AES-GCM
-- ciphertexts under the operator's gallery key, packed by the client). Updated in place, so
-- the change number is the log and the log compacts itself.
CREATE TABLE IF NOT EXISTS raiten.gallery (
    operator_id uuid NOT NULL REFERENCES raiten.operator,
    visitor_id uuid NOT NULL,
    change bigint NOT NULL,
    store_id uuid NOT NULL,
    home_store text NOT NULL,
    kind text NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    visit_count integer NOT NULL,
    expires_at timestamptz NOT NULL,
    model text NOT NULL,
    templates bytea NOT NULL,
    PRIMARY KEY (operator_id, visitor_id)
);
CREATE INDEX IF NOT EXISTS gallery_change ON raiten.gallery (operator_id, change);
CREATE INDEX IF NOT EXISTS gallery_expires ON raiten.gallery (operator_id, expires_at);

-- Erased, expired and merged visitors. A push for one of these ids is refused.
CREATE TABLE IF NOT EXISTS raiten.tombstone (
    operator_id uuid NOT NULL REFERENCES raiten.operator,
    visitor_id uuid NOT NULL,
    change bigint NOT NULL,
    reason text NOT NULL CHECK (reason IN ('erased', 'expired', 'merged')),
    survivor uuid,
    at timestamptz NOT NULL,
    PRIMARY KEY (operator_id, visitor_id)
);
CREATE INDEX IF NOT EXISTS tombstone_change ON raiten.tombstone (operator_id, change);
CREATE INDEX IF NOT EXISTS tombstone_at ON raiten.tombstone (operator_id, at);

-- Every store's visits and statistics rows: the chain's figures.
CREATE TABLE IF NOT EXISTS raiten.visit (
    operator_id uuid NOT NULL REFERENCES raiten.operator,
    store_id uuid NOT NULL,
    local_id bigint NOT NULL,
    visitor_id uuid,
    -- Set for a visit without a visitor (it goes with no visitor's expiry): when the store's
    -- retention period ends for it.
    expires_at timestamptz,
    row jsonb NOT NULL,
    PRIMARY KEY (operator_id, store_id, local_id)
);
CREATE INDEX IF NOT EXISTS visit_visitor ON raiten.visit (operator_id, visitor_id);
CREATE INDEX IF NOT EXISTS visit_expires ON raiten.visit (operator_id, expires_at);

CREATE TABLE IF NOT EXISTS raiten.stat (
    operator_id uuid NOT NULL REFERENCES raiten.operator,
    store_id uuid NOT NULL,
    tbl text NOT NULL,
    key jsonb NOT NULL,
    row jsonb NOT NULL,
    -- Set anew by every push that changes the row: the other stores pull above their cursor.
    change bigint NOT NULL,
    PRIMARY KEY (operator_id, store_id, tbl, key)
);
-- Schema 1 had no change number: its rows are numbered once (a volatile default fills every
-- existing row when the column is added), and pushes number them from then on.
ALTER TABLE raiten.stat ADD COLUMN IF NOT EXISTS change bigint NOT NULL
    DEFAULT nextval('raiten.change_seq');
ALTER TABLE raiten.stat ALTER COLUMN change DROP DEFAULT;
CREATE INDEX IF NOT EXISTS stat_change ON raiten.stat (operator_id, change);

-- The stores' audit entries, append-only: no UPDATE, DELETE or TRUNCATE by grant or trigger.
CREATE TABLE IF NOT EXISTS raiten.audit (
    operator_id uuid NOT NULL REFERENCES raiten.operator,
    store_id uuid NOT NULL,
    local_id bigint NOT NULL,
    row jsonb NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (operator_id, store_id, local_id)
);

CREATE OR REPLACE FUNCTION raiten.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'raiten.audit is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER IF EXISTS audit_append_only ON raiten.audit;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON raiten.audit
    FOR EACH ROW EXECUTE FUNCTION raiten.refuse_change();
DROP TRIGGER IF EXISTS audit_no_truncate ON raiten.audit;
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON raiten.audit
    FOR EACH STATEMENT EXECUTE FUNCTION raiten.refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON raiten.audit FROM raiten_owner;

-- The operator of the session user (the store's or enrolment role), NULL for anyone else.
-- member's own policy lets a role see only its own row, so this cannot recurse.
CREATE OR REPLACE FUNCTION raiten.current_operator() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT operator_id FROM raiten.member WHERE role_name = session_user
$$;
CREATE OR REPLACE FUNCTION raiten.current_store() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT store_id FROM raiten.member WHERE role_name = session_user AND kind = 'store'
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['operator', 'store', 'gallery', 'tombstone',
                             'visit', 'stat', 'audit'] LOOP
        EXECUTE format('ALTER TABLE raiten.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE raiten.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('DROP POLICY IF EXISTS same_operator ON raiten.%I', t);
        EXECUTE format('CREATE POLICY same_operator ON raiten.%I USING '
                       '(operator_id = raiten.current_operator()) '
                       'WITH CHECK (operator_id = raiten.current_operator())', t);
    END LOOP;
END $$;
ALTER TABLE raiten.member ENABLE ROW LEVEL SECURITY;
ALTER TABLE raiten.member FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_row ON raiten.member;
CREATE POLICY own_row ON raiten.member USING (role_name = session_user);
-- raiten.enrol adds a store role of the enrolment role's operator.
DROP POLICY IF EXISTS enrol_store ON raiten.member;
CREATE POLICY enrol_store ON raiten.member FOR INSERT
    WITH CHECK (kind = 'store' AND operator_id = raiten.current_operator());

-- Expire the operator's visitors at p_now and forget tombstones older than the horizon.
CREATE OR REPLACE FUNCTION raiten.sweep(op uuid, p_now timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    days integer;
    purged bigint;
BEGIN
    -- Most calls find nothing expired: no temporary table for them.
    IF EXISTS (SELECT FROM raiten.gallery WHERE operator_id = op AND expires_at <= p_now) THEN
        CREATE TEMP TABLE pg_temp.raiten_expiring (visitor_id uuid) ON COMMIT DROP;
        WITH gone AS (
            DELETE FROM raiten.gallery
            WHERE operator_id = op AND expires_at <= p_now
            RETURNING visitor_id
        )
        INSERT INTO pg_temp.raiten_expiring SELECT visitor_id FROM gone;
        INSERT INTO raiten.tombstone (operator_id, visitor_id, change, reason, at)
        SELECT op, visitor_id, nextval('raiten.change_seq'), 'expired', p_now
        FROM pg_temp.raiten_expiring
        ON CONFLICT DO NOTHING;
        DELETE FROM raiten.visit v USING pg_temp.raiten_expiring e
        WHERE v.operator_id = op AND v.visitor_id = e.visitor_id;
        UPDATE raiten.operator SET scrub_due = true WHERE operator_id = op;
    END IF;
    DELETE FROM raiten.visit WHERE operator_id = op AND expires_at <= p_now;
    SELECT tombstone_days INTO days FROM raiten.operator WHERE operator_id = op;
    WITH old AS (
        DELETE FROM raiten.tombstone
        WHERE operator_id = op AND at < p_now - make_interval(days => days)
        RETURNING change
    )
    SELECT max(change) INTO purged FROM old;
    IF purged IS NOT NULL THEN
        UPDATE raiten.operator SET horizon_change = greatest(horizon_change, purged)
        WHERE operator_id = op;
    END IF;
END $$;

-- One batch of a store's outbox, in one transaction. Items at or below the store's pushed_seq
-- were applied before (the store did not hear the answer) and are skipped. Returns
-- {"pushed_seq", "accepted", "refused": [{"visitor", "reason", "survivor"}], "resync"}.
-- p_items is a JSON array of {"seq", "kind", "key", "doc"}; p_blob holds each item's blob
-- (templates) at the same position, NULL for the others.
CREATE OR REPLACE FUNCTION raiten.push(p_now timestamptz, p_items jsonb, p_blob bytea[])
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = raiten, pg_catalog, pg_temp AS $$
DECLARE
    op uuid := raiten.current_operator();
    st uuid := raiten.current_store();
    clock timestamptz := greatest(now(), p_now);
    done bigint;
    contact timestamptz;
    horizon integer;
    accepted integer := 0;
    n integer;
    refused jsonb;
BEGIN
    IF op IS NULL OR st IS NULL THEN
        RAISE EXCEPTION 'not a store of any operator' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Change numbers of one operator follow commit order: a pull never misses a lower
    -- number that commits later.
    PERFORM pg_advisory_xact_lock(hashtextextended(op::text, 19));
    SELECT s.pushed_seq, s.last_contact INTO done, contact
    FROM raiten.store s WHERE s.store_id = st FOR UPDATE;
    SELECT tombstone_days INTO horizon FROM raiten.operator WHERE operator_id = op;
    PERFORM raiten.sweep(op, clock);
    -- Offline longer than tombstones are kept: what it holds may have been erased meanwhile
    -- without a trace; it must pull the whole gallery before it may push.
    IF contact < clock - make_interval(days => horizon) THEN
        RETURN jsonb_build_object('resync', true, 'pushed_seq', done, 'accepted', 0,
                                  'refused', '[]'::jsonb);
    END IF;
    -- Created fresh in each push (never IF NOT EXISTS): a table the session made beforehand
    -- under this name makes the push fail instead of being used.
    CREATE TEMP TABLE pg_temp.raiten_push_item (
        seq bigint, kind text, key text, doc jsonb, blob bytea) ON COMMIT DROP;
    INSERT INTO pg_temp.raiten_push_item
    SELECT (j.e->>'seq')::bigint, j.e->>'kind', j.e->>'key', j.e->'doc', b.blob
    FROM jsonb_array_elements(p_items) WITH ORDINALITY AS j (e, n)
    LEFT JOIN unnest(p_blob) WITH ORDINALITY AS b (blob, n) ON b.n = j.n;
    IF EXISTS (
        SELECT FROM pg_temp.raiten_push_item i
        LEFT JOIN raiten.store s ON s.store_id = st
        LEFT JOIN jsonb_to_recordset(s.last_batch) AS b (seq bigint, kind text, key text)
          ON b.seq = i.seq AND b.kind = i.kind AND b.key = i.key
        WHERE i.seq <= done AND b.seq IS NULL
    ) THEN
        RETURN jsonb_build_object('renumber', true, 'resync', false, 'pushed_seq', done,
                                  'accepted', 0, 'refused', '[]'::jsonb);
    END IF;
    DELETE FROM pg_temp.raiten_push_item WHERE seq <= done;

    -- Merges, erasures and expiry become tombstones (raiten_dead holds this push's), then the
    -- gallery rows go and the visits go or move to the survivor. A merge and an erasure of
    -- the same person may come from two stores in either order: a merge whose loser was
    -- erased erases the survivor too, and an erasure of a merged visitor follows it to its
    -- survivor, so the erased person's features never live on under the other id.
    CREATE TEMP TABLE pg_temp.raiten_dead (
        visitor_id uuid PRIMARY KEY, reason text, survivor uuid) ON COMMIT DROP;
    INSERT INTO pg_temp.raiten_dead
    SELECT DISTINCT ON (target)
           target, CASE WHEN erased THEN 'erased' ELSE 'merged' END,
           CASE WHEN erased THEN NULL ELSE (i.doc->>'survivor')::uuid END
    FROM (
        SELECT i.*, CASE WHEN l.reason = 'erased' THEN (i.doc->>'survivor')::uuid
                         ELSE i.key::uuid END AS target,
               coalesce(l.reason = 'erased' OR s.reason = 'erased', false) AS erased
        FROM pg_temp.raiten_push_item i
        LEFT JOIN raiten.tombstone l ON l.operator_id = op AND l.visitor_id = i.key::uuid
        LEFT JOIN raiten.tombstone s
          ON s.operator_id = op AND s.visitor_id = (i.doc->>'survivor')::uuid
        WHERE i.kind = 'merge'
    ) AS i
    ORDER BY target, erased DESC
    ON CONFLICT DO NOTHING;
    INSERT INTO raiten.tombstone (operator_id, visitor_id, change, reason, survivor, at)
    SELECT op, visitor_id, nextval('raiten.change_seq'), reason, survivor, clock
    FROM pg_temp.raiten_dead
    ON CONFLICT DO NOTHING;
    INSERT INTO pg_temp.raiten_dead
    WITH RECURSIVE target (visitor_id, reason) AS (
        SELECT DISTINCT key::uuid, doc->>'reason' FROM pg_temp.raiten_push_item
        WHERE kind = 'erase'
        UNION
        SELECT t.survivor, 'erased' FROM target
        JOIN raiten.tombstone t ON t.operator_id = op AND t.visitor_id = target.visitor_id
        WHERE target.reason = 'erased' AND t.reason = 'merged'
    )
    SELECT DISTINCT ON (visitor_id) visitor_id, reason, NULL::uuid FROM target
    ORDER BY visitor_id, reason = 'erased' DESC
    ON CONFLICT (visitor_id) DO UPDATE SET reason = 'erased', survivor = NULL
        WHERE excluded.reason = 'erased';
    WITH t AS (
        INSERT INTO raiten.tombstone (operator_id, visitor_id, change, reason, survivor, at)
        SELECT op, visitor_id, nextval('raiten.change_seq'), reason, survivor, clock
        FROM pg_temp.raiten_dead d
        ON CONFLICT (operator_id, visitor_id) DO UPDATE SET
            reason = 'erased', survivor = NULL, change = excluded.change
            WHERE excluded.reason = 'erased' AND tombstone.reason <> 'erased'
        RETURNING 1
    )
    SELECT count(*) INTO n FROM t;
    accepted := accepted + (SELECT count(*) FROM pg_temp.raiten_push_item
                            WHERE kind IN ('erase', 'merge'));
    DELETE FROM raiten.gallery g USING pg_temp.raiten_dead d
    WHERE g.operator_id = op AND g.visitor_id = d.visitor_id;
    IF FOUND THEN
        UPDATE raiten.operator SET scrub_due = true WHERE operator_id = op;
    END IF;
    UPDATE raiten.visit v SET visitor_id = d.survivor
    FROM pg_temp.raiten_dead d
    WHERE v.operator_id = op AND d.reason = 'merged' AND v.visitor_id = d.visitor_id;
    DELETE FROM raiten.visit v USING pg_temp.raiten_dead d
    WHERE v.operator_id = op AND d.reason <> 'merged' AND v.visitor_id = d.visitor_id;

    -- Visitors: refused when tombstoned; otherwise merged with what the server holds.
    SELECT coalesce(jsonb_agg(DISTINCT jsonb_build_object(
               'visitor', t.visitor_id, 'reason', t.reason, 'survivor', t.survivor)), '[]')
    INTO refused
    FROM pg_temp.raiten_push_item i JOIN raiten.tombstone t
      ON t.operator_id = op AND t.visitor_id = i.key::uuid
    WHERE i.kind = 'visitor';
    WITH v AS (
        INSERT INTO raiten.gallery AS g (operator_id, visitor_id, change, store_id, home_store,
            kind, first_seen, last_seen, visit_count, expires_at, model, templates)
        SELECT DISTINCT ON (i.key) op, i.key::uuid, nextval('raiten.change_seq'), st,
            i.doc->>'home_store', i.doc->>'kind', (i.doc->>'first_seen')::timestamptz,
            (i.doc->>'last_seen')::timestamptz, (i.doc->>'visit_count')::integer,
            (i.doc->>'expires_at')::timestamptz, i.doc->>'model', i.blob
        FROM pg_temp.raiten_push_item i
        WHERE i.kind = 'visitor' AND NOT EXISTS (
            SELECT FROM raiten.tombstone t WHERE t.operator_id = op AND t.visitor_id = i.key::uuid)
        ORDER BY i.key, i.seq DESC
        ON CONFLICT (operator_id, visitor_id) DO UPDATE SET
            change = excluded.change,
            store_id = excluded.store_id,
            first_seen = least(g.first_seen, excluded.first_seen),
            last_seen = greatest(g.last_seen, excluded.last_seen),
            visit_count = greatest(g.visit_count, excluded.visit_count),
            expires_at = greatest(g.expires_at, excluded.expires_at),
            model = excluded.model,
            templates = excluded.templates
        RETURNING 1
    )
    SELECT count(*) INTO n FROM v;
    accepted := accepted + n;

    -- Visits: a merged visitor's go to the survivor; an erased or expired one's are dropped.
    WITH v AS (
        INSERT INTO raiten.visit AS old (operator_id, store_id, local_id, visitor_id,
                                         expires_at, row)
        SELECT DISTINCT ON (i.key) op, st, (i.doc->>'id')::bigint,
               coalesce(t.survivor, nullif(i.doc->>'visitor_id', '')::uuid),
               (i.doc->>'expires_at')::timestamptz, i.doc
        FROM pg_temp.raiten_push_item i
        LEFT JOIN raiten.tombstone t
          ON t.operator_id = op AND t.visitor_id = nullif(i.doc->>'visitor_id', '')::uuid
        WHERE i.kind = 'visit' AND (t.visitor_id IS NULL OR t.reason = 'merged')
        ORDER BY i.key, i.seq DESC
        ON CONFLICT (operator_id, store_id, local_id) DO UPDATE SET
            visitor_id = excluded.visitor_id, expires_at = excluded.expires_at,
            row = excluded.row
        RETURNING 1
    )
    SELECT count(*) INTO n FROM v;
    accepted := accepted + n;

    WITH s AS (
        INSERT INTO raiten.stat AS old (operator_id, store_id, tbl, key, row, change)
        SELECT DISTINCT ON (i.doc->>'table', i.doc->'key') op, st, i.doc->>'table',
               i.doc->'key', i.doc->'row', nextval('raiten.change_seq')
        FROM pg_temp.raiten_push_item i WHERE i.kind = 'stat'
        ORDER BY i.doc->>'table', i.doc->'key', i.seq DESC
        ON CONFLICT (operator_id, store_id, tbl, key) DO UPDATE SET
            row = excluded.row, change = excluded.change
        RETURNING 1
    )
    SELECT count(*) INTO n FROM s;
    accepted := accepted + n;

    WITH a AS (
        INSERT INTO raiten.audit (operator_id, store_id, local_id, row, received_at)
        SELECT op, st, (i.doc->>'id')::bigint, i.doc, clock
        FROM pg_temp.raiten_push_item i WHERE i.kind = 'audit'
        ON CONFLICT DO NOTHING
        RETURNING 1
    )
    SELECT count(*) INTO n FROM a;
    accepted := accepted + n;

    UPDATE raiten.store SET pushed_seq = greatest(done, coalesce(
        (SELECT max((e->>'seq')::bigint) FROM jsonb_array_elements(p_items) AS e), 0)),
        last_batch = coalesce((SELECT jsonb_agg(jsonb_build_object(
                                   'seq', seq, 'kind', kind, 'key', key))
                               FROM pg_temp.raiten_push_item), last_batch),
        last_contact = clock
    WHERE store_id = st;
    RETURN jsonb_build_object('resync', false,
                              'pushed_seq', (SELECT pushed_seq FROM raiten.store
                                             WHERE store_id = st),
                              'accepted', accepted, 'refused', refused);
END $$;

-- One page of the operator's gallery changes above p_cursor, in change order: live visitors
-- (kind 'visitor') and tombstones (kind 'erased', 'expired', 'merged'). A cursor below the
-- tombstone horizon gets one row of kind 'resync': pull everything again from 0.
CREATE OR REPLACE FUNCTION raiten.pull(p_now timestamptz, p_cursor bigint, p_limit integer)
RETURNS TABLE (change bigint, kind text, visitor_id uuid, doc jsonb, blob bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = raiten, pg_catalog, pg_temp AS $$
DECLARE
    op uuid := raiten.current_operator();
    st uuid := raiten.current_store();
    clock timestamptz := greatest(now(), p_now);
    horizon bigint;
BEGIN
    IF op IS NULL OR st IS NULL THEN
        RAISE EXCEPTION 'not a store of any operator' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Expiry makes tombstones, whose change numbers must follow commit order too.
    PERFORM pg_advisory_xact_lock(hashtextextended(op::text, 19));
    PERFORM raiten.sweep(op, clock);
    UPDATE raiten.store SET last_contact = clock WHERE store_id = st;
    SELECT horizon_change INTO horizon FROM raiten.operator WHERE operator_id = op;
    IF p_cursor > 0 AND p_cursor < horizon THEN
        RETURN QUERY SELECT horizon, 'resync'::text, NULL::uuid, NULL::jsonb, NULL::bytea;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT * FROM (
        SELECT g.change, 'visitor'::text, g.visitor_id,
               jsonb_build_object('home_store', g.home_store, 'kind', g.kind,
                   'first_seen', g.first_seen, 'last_seen', g.last_seen,
                   'visit_count', g.visit_count, 'expires_at', g.expires_at, 'model', g.model),
               g.templates
        FROM raiten.gallery g
        WHERE g.operator_id = op AND g.change > p_cursor AND g.expires_at > clock
        UNION ALL
        SELECT t.change, t.reason, t.visitor_id,
               jsonb_build_object('survivor', t.survivor), NULL::bytea
        FROM raiten.tombstone t
        WHERE t.operator_id = op AND t.change > p_cursor
    ) AS c
    ORDER BY 1 LIMIT p_limit;
END $$;

-- The other stores of the session user's operator, for the dashboard's store picker.
CREATE OR REPLACE FUNCTION raiten.stores()
RETURNS TABLE (store_id uuid, name text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = raiten, pg_catalog, pg_temp AS $$
DECLARE
    op uuid := raiten.current_operator();
    st uuid := raiten.current_store();
BEGIN
    IF op IS NULL OR st IS NULL THEN
        RAISE EXCEPTION 'not a store of any operator' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY SELECT s.store_id, s.name FROM raiten.store s
    WHERE s.operator_id = op AND s.store_id <> st ORDER BY s.name;
END $$;

-- One page of the other stores' statistics rows (the visits they folded, and what the counting
-- modes counted) changed above p_cursor, in change order. Statistics rows hold no visitor id:
-- they are the only rows of another store a store receives besides the shared gallery.
-- No advisory lock: every writer of change numbers holds the operator's lock until it
-- commits, so what a snapshot sees is every number up to some point, never a gap.
CREATE OR REPLACE FUNCTION raiten.pull_stats(p_cursor bigint, p_limit integer)
RETURNS TABLE (change bigint, store_id uuid, tbl text, stat_key jsonb, stat_row jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = raiten, pg_catalog, pg_temp AS $$
DECLARE
    op uuid := raiten.current_operator();
    st uuid := raiten.current_store();
BEGIN
    IF op IS NULL OR st IS NULL THEN
        RAISE EXCEPTION 'not a store of any operator' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY SELECT s.change, s.store_id, s.tbl, s.key, s.row FROM raiten.stat s
    WHERE s.operator_id = op AND s.store_id <> st AND s.change > p_cursor
    ORDER BY s.change LIMIT p_limit;
END $$;

-- The other stores' visits still held (not yet folded into their statistics), folded here into
-- the statistics' shape by the store's rules: counts per UTC hour, age band, gender and repeat
-- (stat_visit_hour), per UTC day and visit number (stat_visit_number) and per day and dwell bin
-- (stat_dwell). Staff and opted-out visitors are not counted; no visitor id leaves. The store
-- passes its bins (the upper edges of the dwell bins in seconds, the visit-number cap), so
-- the binning has one definition. Sales stay at each store: converted and spend are 0 here.
CREATE OR REPLACE FUNCTION raiten.held_stats(p_dwell_edges double precision[],
                                             p_number_cap integer)
RETURNS TABLE (store_id uuid, tbl text, stat_key jsonb, stat_row jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = raiten, pg_catalog, pg_temp AS $$
DECLARE
    op uuid := raiten.current_operator();
    st uuid := raiten.current_store();
BEGIN
    IF op IS NULL OR st IS NULL THEN
        RAISE EXCEPTION 'not a store of any operator' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY
    WITH v AS (
        SELECT v.store_id AS st_id, coalesce(v.row->>'store', '') AS site,
               substr(v.row->>'started_at', 1, 13) AS hour,
               substr(v.row->>'started_at', 1, 10) AS day,
               coalesce(v.row->>'age_band', 'unknown') AS age_band,
               coalesce(v.row->>'gender', 'unknown') AS gender,
               coalesce((v.row->>'is_repeat')::integer, 0) AS is_repeat,
               coalesce((v.row->>'dwell_seconds')::double precision, 0) AS dwell,
               least(coalesce((v.row->>'visit_number')::integer, 1), p_number_cap) AS number,
               (v.visitor_id IS NULL)::integer AS unknown
        FROM raiten.visit v
        WHERE v.operator_id = op AND v.store_id <> st
          AND NOT EXISTS (SELECT FROM raiten.gallery g
                          WHERE g.operator_id = op AND g.visitor_id = v.visitor_id
                            AND g.kind IN ('staff', 'dnt'))
    )
    SELECT v.st_id, 'stat_visit_hour'::text,
           jsonb_build_object('store', v.site, 'hour', v.hour, 'age_band', v.age_band,
                              'gender', v.gender, 'is_repeat', v.is_repeat),
           jsonb_build_object('store', v.site, 'hour', v.hour, 'age_band', v.age_band,
                              'gender', v.gender, 'is_repeat', v.is_repeat,
                              'visits', count(*), 'dwell_seconds', sum(v.dwell),
                              'converted', 0, 'spend', 0, 'unknown', sum(v.unknown))
    FROM v GROUP BY v.st_id, v.site, v.hour, v.age_band, v.gender, v.is_repeat
    UNION ALL
    SELECT v.st_id, 'stat_visit_number'::text,
           jsonb_build_object('store', v.site, 'day', v.day, 'visit_number', v.number),
           jsonb_build_object('store', v.site, 'day', v.day, 'visit_number', v.number,
                              'visits', count(*))
    FROM v GROUP BY v.st_id, v.site, v.day, v.number
    UNION ALL
    SELECT b.st_id, 'stat_dwell'::text,
           jsonb_build_object('store', b.site, 'day', b.day, 'dwell_bin', b.bin),
           jsonb_build_object('store', b.site, 'day', b.day, 'dwell_bin', b.bin,
                              'visits', count(*))
    FROM (SELECT v.st_id, v.site, v.day,
                 (SELECT count(*) FROM unnest(p_dwell_edges) AS e (edge)
                  WHERE v.dwell >= e.edge)::integer
                     AS bin
          FROM v) AS b
    GROUP BY b.st_id, b.site, b.day, b.bin;
END $$;

-- Enrol a store: a login role of the enrolment role's operator, with the password given as a
-- SCRAM verifier (the server never sees the password itself). Returns the store's id.
CREATE OR REPLACE FUNCTION raiten.enrol(p_name text, p_role name, p_verifier text)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = raiten, pg_catalog, pg_temp AS $$
DECLARE
    op uuid := raiten.current_operator();
    st uuid := gen_random_uuid();
BEGIN
    IF op IS NULL OR EXISTS (SELECT FROM raiten.member WHERE role_name = session_user
                                                        AND kind <> 'enrol') THEN
        RAISE EXCEPTION 'not an enrolment role' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_role !~ '^raiten_s_[0-9a-f]{16}$' OR p_verifier !~ '^SCRAM-SHA-256\$' THEN
        RAISE EXCEPTION 'malformed store credentials' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM raiten.store WHERE operator_id = op AND name = p_name) THEN
        RAISE EXCEPTION 'store % is enrolled already', p_name USING ERRCODE = 'unique_violation';
    END IF;
    EXECUTE format('CREATE ROLE %I LOGIN NOBYPASSRLS PASSWORD %L IN ROLE raiten_store',
                   p_role, p_verifier);
    INSERT INTO raiten.member (role_name, operator_id, store_id, kind)
    VALUES (p_role, op, st, 'store');
    INSERT INTO raiten.store (operator_id, store_id, name, role_name, created_at, last_contact)
    VALUES (op, st, p_name, p_role, now(), now());
    RETURN st;
END $$;

REVOKE ALL ON ALL TABLES IN SCHEMA raiten FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA raiten FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA raiten FROM PUBLIC;
GRANT EXECUTE ON FUNCTION raiten.push(timestamptz, jsonb, bytea[]) TO raiten_store;
GRANT EXECUTE ON FUNCTION raiten.pull(timestamptz, bigint, integer) TO raiten_store;
GRANT EXECUTE ON FUNCTION raiten.stores() TO raiten_store;
GRANT EXECUTE ON FUNCTION raiten.pull_stats(bigint, integer) TO raiten_store;
GRANT EXECUTE ON FUNCTION raiten.held_stats(double precision[], integer) TO raiten_store;
GRANT EXECUTE ON FUNCTION raiten.enrol(text, name, text) TO raiten_enrol;

-- The version of this file, read by `raiten chain init` and `join`.
COMMENT ON SCHEMA raiten IS 'raiten chain schema 2';
