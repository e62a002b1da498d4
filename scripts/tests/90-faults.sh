#!/usr/bin/env bash
# Runs the fault-and-hostile suite (scripts/faults) with the built tools.
source "$(dirname "$0")/../lib/testlib.sh"
"$REPO/scripts/faults/run"
