#!/bin/sh
# The stress soak (CTest label `slow`; `./faultline test` leaves it out unless
# asked with -L slow): both backends side by side with the chaos mix for
# FAULTLINE_SOAK_SECONDS (default 3600) each, in a fresh results directory.
faultline="$1"
out="$2"
rm -rf "$out"
exec "$faultline" stress --compare --chaos --duration "${FAULTLINE_SOAK_SECONDS:-3600}" --no-progress --out "$out"
