#!/bin/bash
# The command line outside mounting: --help and --version answer with 0,
# misuse is refused with a usage message and a non-zero exit.

source "$(dirname "$0")/../lib.sh"

VERSION=$(sed -n "s/^[[:space:]]*version : '\([^']*\)'.*/\1/p" \
	"$T_ROOT/meson.build" | head -n 1)

t_check "--help exits 0" bash -c "'$T_BIN' --help >/dev/null"
t_check "--help shows mount and check" \
	bash -c "'$T_BIN' --help | grep -q 'artifactfs mount' && '$T_BIN' --help | grep -q 'artifactfs check'"
t_check "--help names the -o options" \
	bash -c "'$T_BIN' --help | grep -q connect_timeout"
t_check "--version exits 0" bash -c "'$T_BIN' --version >/dev/null"
t_check "--version is the project's ($VERSION)" \
	bash -c "'$T_BIN' --version | grep -qF '$VERSION'"
t_check "no arguments: non-zero" bash -c "! '$T_BIN' >/dev/null 2>&1"
t_check "unknown command: non-zero" bash -c "! '$T_BIN' frobnicate 2>/dev/null"
t_check "unknown command: says so on stderr" \
	bash -c "'$T_BIN' frobnicate 2>&1 >/dev/null | grep -q ."
t_check "mount without a mountpoint: non-zero" \
	bash -c "! '$T_BIN' mount '$T_ROOT/tests/cases/seed-task-definition.json' 2>/dev/null"
t_check "unknown option: non-zero" \
	bash -c "! '$T_BIN' mount --no-such-option a b 2>/dev/null"

t_finish
