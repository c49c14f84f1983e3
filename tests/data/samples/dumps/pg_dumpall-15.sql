--
-- PostgreSQL database cluster dump
--

\restrict yJGwrxjcVg8aanbGaRIrg5CTolMNVNeBB1U9Muc2lNKpO4Yg2bxqX7MZE6ftRIs

SET default_transaction_read_only = off;

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

--
-- Roles
--

CREATE ROLE app;
ALTER ROLE app WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:C6zfig+BGp01XEmyPISuSw==$FLkyIkLsyy6SZr731PAdNkpC4Sdh4WuWKUxEF3uJdZo=:FnpREduukr21DM7jUcjtYU+doCoqvQkeu79Ptas/gFI=';

--
-- User Configurations
--








\unrestrict yJGwrxjcVg8aanbGaRIrg5CTolMNVNeBB1U9Muc2lNKpO4Yg2bxqX7MZE6ftRIs

--
-- Databases
--

--
-- Database "template1" dump
--

\connect template1

--
-- PostgreSQL database dump
--

\restrict JaWUm0PVsd8LAWuqNLHBjMRBW2R5hEyStWchPcH58WL988CgxBGUgh3aZ3Cls5s

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- PostgreSQL database dump complete
--

\unrestrict JaWUm0PVsd8LAWuqNLHBjMRBW2R5hEyStWchPcH58WL988CgxBGUgh3aZ3Cls5s

--
-- Database "appdb" dump
--

--
-- PostgreSQL database dump
--

\restrict 6IthkvfOc9HHljfiDzqkeF9FHq6r0L9BxCdgffwIBuaJuC6eLUSDz7ytSrJ2URb

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: appdb; Type: DATABASE; Schema: -; Owner: app
--

CREATE DATABASE appdb WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';


ALTER DATABASE appdb OWNER TO app;

\unrestrict 6IthkvfOc9HHljfiDzqkeF9FHq6r0L9BxCdgffwIBuaJuC6eLUSDz7ytSrJ2URb
\connect appdb
\restrict 6IthkvfOc9HHljfiDzqkeF9FHq6r0L9BxCdgffwIBuaJuC6eLUSDz7ytSrJ2URb

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: Odd Name; Type: TABLE; Schema: public; Owner: app
--

CREATE TABLE public."Odd Name" (
    v text
);


ALTER TABLE public."Odd Name" OWNER TO app;

--
-- Name: empty_t; Type: TABLE; Schema: public; Owner: app
--

CREATE TABLE public.empty_t (
    x integer
);


ALTER TABLE public.empty_t OWNER TO app;

--
-- Name: items; Type: TABLE; Schema: public; Owner: app
--

CREATE TABLE public.items (
    id integer NOT NULL,
    name text
);


ALTER TABLE public.items OWNER TO app;

--
-- Data for Name: Odd Name; Type: TABLE DATA; Schema: public; Owner: app
--

COPY public."Odd Name" (v) FROM stdin;
a
multi\nline
\.


--
-- Data for Name: empty_t; Type: TABLE DATA; Schema: public; Owner: app
--

COPY public.empty_t (x) FROM stdin;
\.


--
-- Data for Name: items; Type: TABLE DATA; Schema: public; Owner: app
--

COPY public.items (id, name) FROM stdin;
1	one
2	two
3	three
\.


--
-- Name: items items_pkey; Type: CONSTRAINT; Schema: public; Owner: app
--

ALTER TABLE ONLY public.items
    ADD CONSTRAINT items_pkey PRIMARY KEY (id);


--
-- PostgreSQL database dump complete
--

\unrestrict 6IthkvfOc9HHljfiDzqkeF9FHq6r0L9BxCdgffwIBuaJuC6eLUSDz7ytSrJ2URb

--
-- Database "other" dump
--

--
-- PostgreSQL database dump
--

\restrict 1umI3fvjRJky1DO4kRT27XWmnDmGWDyyHKxWWbqlj93SPRBIZ9Z73tSkO11UncI

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: other; Type: DATABASE; Schema: -; Owner: app
--

CREATE DATABASE other WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';


ALTER DATABASE other OWNER TO app;

\unrestrict 1umI3fvjRJky1DO4kRT27XWmnDmGWDyyHKxWWbqlj93SPRBIZ9Z73tSkO11UncI
\connect other
\restrict 1umI3fvjRJky1DO4kRT27XWmnDmGWDyyHKxWWbqlj93SPRBIZ9Z73tSkO11UncI

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: notes; Type: TABLE; Schema: public; Owner: app
--

CREATE TABLE public.notes (
    body text
);


ALTER TABLE public.notes OWNER TO app;

--
-- Data for Name: notes; Type: TABLE DATA; Schema: public; Owner: app
--

COPY public.notes (body) FROM stdin;
n1
n2
\.


--
-- PostgreSQL database dump complete
--

\unrestrict 1umI3fvjRJky1DO4kRT27XWmnDmGWDyyHKxWWbqlj93SPRBIZ9Z73tSkO11UncI

--
-- Database "postgres" dump
--

\connect postgres

--
-- PostgreSQL database dump
--

\restrict fgwd28MWZt81AaAdyPa72UHKa9vVl39qaKKJHElHKl3c79DbEcECy68eW47aZ2w

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- PostgreSQL database dump complete
--

\unrestrict fgwd28MWZt81AaAdyPa72UHKa9vVl39qaKKJHElHKl3c79DbEcECy68eW47aZ2w

--
-- PostgreSQL database cluster dump complete
--

