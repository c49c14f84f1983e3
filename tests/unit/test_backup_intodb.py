"""The line rewrite that loads a pg_dumpall dump into a running server, and the stream cutter."""

from __future__ import annotations

import random

from lares.backup.dumps import _Lines
from lares.backup.hooks import Instance, postgres

DUMP = b'''\
CREATE ROLE app;
ALTER ROLE app WITH SUPERUSER INHERIT LOGIN PASSWORD 'SCRAM-SHA-256$4096:abc=$def=';
CREATE ROLE "odd ""role""";
ALTER ROLE "odd ""role""" WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:keep';
\\connect template1
CREATE DATABASE appdb WITH TEMPLATE = template0 ENCODING = 'UTF8';
CREATE DATABASE "My DB" WITH TEMPLATE = template0;
\\connect appdb
COPY public.items (id, name) FROM stdin;
1\tCREATE ROLE app;
\\.
COPY public.notes (body) FROM stdin;
CREATE ROLE app;
CREATE DATABASE appdb;
\\.
'''

LOADED = b'''\
DO $lares$BEGIN CREATE ROLE app; EXCEPTION WHEN duplicate_object THEN NULL; END$lares$;
ALTER ROLE app WITH SUPERUSER INHERIT LOGIN;
DO $lares$BEGIN CREATE ROLE "odd ""role"""; EXCEPTION WHEN duplicate_object THEN NULL; END$lares$;
ALTER ROLE "odd ""role""" WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:keep';
\\connect template1
DROP DATABASE IF EXISTS appdb WITH (FORCE);
CREATE DATABASE appdb WITH TEMPLATE = template0 ENCODING = 'UTF8';
DROP DATABASE IF EXISTS "My DB" WITH (FORCE);
CREATE DATABASE "My DB" WITH TEMPLATE = template0;
\\connect appdb
COPY public.items (id, name) FROM stdin;
1\tCREATE ROLE app;
\\.
COPY public.notes (body) FROM stdin;
CREATE ROLE app;
CREATE DATABASE appdb;
\\.
'''


def test_rewrite_keeps_roles_and_the_login_password_and_drops_databases_first() -> None:
    lines = _Lines(postgres.rewrite("app"))
    assert lines.feed(DUMP) + lines.flush() == LOADED


def test_lines_cut_anywhere_give_the_same_stream() -> None:
    rng = random.Random(5)
    for _ in range(50):
        lines = _Lines(postgres.rewrite("app"))
        out, rest = b"", DUMP
        while rest:
            n = rng.randint(1, 20)
            out += lines.feed(rest[:n])
            rest = rest[n:]
        assert out + lines.flush() == LOADED


def test_load_command_has_no_password_in_argv() -> None:
    from lares.catalog.model import DatabaseBackup

    db = DatabaseBackup(container="db", engine="postgres", user="app")
    load = postgres.load(Instance(db, "x-db", "img", "x_pw"))
    assert load.restore.secret_env == {"PGPASSWORD": "x_pw"}
    assert "x_pw" not in load.restore.argv and "-e" in load.restore.argv
