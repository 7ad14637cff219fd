#!/bin/sh
# Runs once, as the postgres superuser, when the production database volume is created.
# The application role owns its tables but is neither superuser nor BYPASSRLS, so the
# FORCE ROW LEVEL SECURITY policies that `migrate` installs apply to every query it makes.
set -eu
psql -v ON_ERROR_STOP=1 --username postgres <<SQL
CREATE ROLE salesintel LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB PASSWORD '${APP_DB_PASSWORD}';
CREATE DATABASE salesintel OWNER salesintel;
SQL
