#!/bin/bash
# window.sh PID PORT START N : zero callgrind counters once ops_total>=START, dump once >= START+N
pid=$1; port=$2; start=$3; n=$4; zeroed=
while kill -0 $pid 2>/dev/null; do
  c=$(curl -s 127.0.0.1:$port/metrics | awk '/^gauntlet_ops_total\{op="telemetry",outcome="ok"/{print $2}')
  c=${c:-0}
  if [ -z "$zeroed" ] && [ "$c" -ge "$start" ]; then callgrind_control -z $pid >/dev/null; zeroed=$c; echo "zero at ops=$c $(date -u +%T)"; fi
  if [ -n "$zeroed" ] && [ "$c" -ge $((zeroed+n)) ]; then callgrind_control -d $pid >/dev/null; echo "dump at ops=$c $(date -u +%T)"; exit 0; fi
  sleep 0.5
done
