#!/usr/bin/env bash
# Runs a command with it and the local database servers on one CPU:
#   bash benches/pinned.sh COMMAND [ARGS...]
# On a virtual machine a round trip to a server process sleeping on another CPU takes
# about 70 µs instead of 10 µs, and which connection gets which CPU is a lottery per
# case (docs/performance.md, "Measuring on this machine"). The local PostgreSQL and
# MariaDB processes are moved to the CPU for the command's run (new PostgreSQL backends
# inherit the postmaster's CPU) and put back on every CPU afterwards.
# QUARRY_BENCH_CPU picks the CPU (default: the last one); QUARRY_BENCH_CPU=none runs the
# command as it is.
set -euo pipefail
cpu="${QUARRY_BENCH_CPU:-$(($(nproc) - 1))}"
if [[ $cpu == none ]]; then
  exec "$@"
fi
all_cpus="0-$(($(nproc) - 1))"
server_pids() {
  pgrep -u postgres || true
  pgrep -x mariadbd || pgrep -x mysqld || true
}
pin_servers() {
  for pid in $(server_pids); do
    # A process gone since the listing (a PostgreSQL backend that ended) is no error.
    if ! out=$(taskset -apc "$1" "$pid" 2>&1) && kill -0 "$pid" 2>/dev/null; then
      echo "benches/pinned.sh: cannot set the CPU of server process $pid: $out" >&2
      echo "  (run as a user allowed to, or set QUARRY_BENCH_CPU=none to run unpinned)" >&2
      return 1
    fi
  done
}
trap 'pin_servers "$all_cpus" || true' EXIT
pin_servers "$cpu"
taskset -c "$cpu" "$@"
