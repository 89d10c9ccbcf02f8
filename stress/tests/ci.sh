#!/bin/sh
# `faultline stress --ci` for CTest (label stress): a fresh results directory
# per run, so the records and the time series are this run's only.
faultline="$1"
backend="$2"
out="$3"
rm -rf "$out"
exec "$faultline" stress --ci --backend "$backend" --no-progress --out "$out"
