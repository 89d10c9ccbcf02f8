#!/bin/sh
# The stress soak (CTest label `slow`): both backends side by side with the
# chaos mix for FAULTLINE_SOAK_SECONDS (default 3600) each. Opt-in with
# FAULTLINE_SOAK=1 because `./faultline test` runs ctest without label filters.
faultline="$1"
out="$2"
if [ "${FAULTLINE_SOAK:-0}" != 1 ]; then
  echo "soak: skipped — set FAULTLINE_SOAK=1 to run it (e.g. FAULTLINE_SOAK=1 ctest -L slow)"
  exit 77
fi
exec "$faultline" stress --compare --chaos --duration "${FAULTLINE_SOAK_SECONDS:-3600}" --no-progress --out "$out"
