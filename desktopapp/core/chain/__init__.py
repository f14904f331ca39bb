"""Chain mode: the stores of one operator share one gallery and one set of statistics through
a central PostgreSQL server, and each store keeps working offline (issue 19).

``server.sql`` (the server's schema and its push, pull and enrol functions), ``server``
(connecting, init, erasure maintenance), ``enrolment`` (the file carried to each store PC),
``local`` (outbox, triggers and state inside the store's SQLite file), ``sync`` (push, pull,
merge) and ``membership`` (init, join, leave, status). Needs the ``chain`` extra (psycopg).
"""
