#!/bin/sh
# Fails unless each backend module given exports exactly crib_backend_entry.
set -eu
status=0
for so in "$@"; do
	syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort)
	if [ "$syms" != "crib_backend_entry" ]; then
		echo "$so exports: $syms" >&2
		status=1
	fi
done
exit $status
