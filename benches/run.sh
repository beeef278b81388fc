#!/usr/bin/env bash
# Runs the benchmark suite and writes BENCHMARKS.md at the repository root:
# quarry against the raw drivers (cargo bench), then iterator() memory over 1M rows.
# Needs the PostgreSQL and MariaDB servers of the README's "Databases" section.
set -euo pipefail
cd "$(dirname "$0")/.."
export QUARRY_BENCH_DATABASES="${QUARRY_BENCH_DATABASES:-sqlite,postgres,mysql}"
tables=$(mktemp)

# The client and the local database servers share one CPU while the suite runs: on a
# virtual machine a round trip to a server process sleeping on the other CPU takes
# about 70 µs instead of 10 µs, and which connection gets which CPU is a lottery per
# case (docs/performance.md, "Measuring on this machine"). QUARRY_BENCH_CPU picks the
# CPU (default: the last one); QUARRY_BENCH_CPU=none runs unpinned.
cpu="${QUARRY_BENCH_CPU:-$(($(nproc) - 1))}"
all_cpus="0-$(($(nproc) - 1))"
server_pids() {
  pgrep -u postgres || true
  pgrep -x mariadbd || pgrep -x mysqld || true
}
pin_servers() {
  for pid in $(server_pids); do
    # A process gone since the listing (a PostgreSQL backend that ended) is no error.
    if ! out=$(taskset -apc "$1" "$pid" 2>&1) && kill -0 "$pid" 2>/dev/null; then
      echo "benches/run.sh: cannot set the CPU of server process $pid: $out" >&2
      echo "  (run as a user allowed to, or set QUARRY_BENCH_CPU=none to run unpinned)" >&2
      return 1
    fi
  done
}
cleanup() {
  rm -f "$tables"
  if [[ $cpu != none ]]; then pin_servers "$all_cpus" || true; fi
}
trap cleanup EXIT

cargo bench -p quarry-benches --bench orm --no-run
if [[ $cpu == none ]]; then
  pinning="not pinned: client and servers on any CPU"
  QUARRY_BENCH_OUT="$tables" cargo bench -p quarry-benches --bench orm
else
  pin_servers "$cpu"
  pinning="the benchmark and the local PostgreSQL and MariaDB processes pinned to CPU $cpu (\`taskset\`)"
  QUARRY_BENCH_OUT="$tables" taskset -c "$cpu" cargo bench -p quarry-benches --bench orm
  pin_servers "$all_cpus"
fi
cargo build --release -p quarry-benches --bin iterator_memory

{
  echo "# Benchmarks"
  echo
  echo "Written by \`benches/run.sh\` on $(date -u +%Y-%m-%d). quarry against the raw driver on the"
  echo "same workload, in the same process, timed in alternating pairs; the ratio is the median"
  echo "over 31 pairs of quarry's time divided by the raw time (IQR beside it). See"
  echo "[docs/performance.md](docs/performance.md) for the workloads and what the raw side does."
  echo
  echo "## Machine"
  echo
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
  echo "- Memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "- Kernel: $(uname -sr)"
  echo "- $(rustc --version)"
  echo "- SQLite bundled by libsqlite3-sys $(cargo tree -p quarry-benches -i libsqlite3-sys -e normal --depth 0 2>/dev/null | head -1 | awk '{print $2}') (in memory),"\
       "$(psql -h 127.0.0.1 -U postgres -d test -tAc 'SHOW server_version' 2>/dev/null | awk '{print "PostgreSQL " $1}'),"\
       "$(mariadb -h 127.0.0.1 -u root -N -e 'SELECT VERSION()' 2>/dev/null | sed 's/^/MariaDB /'), over TCP on localhost"
  echo "- CPU placement: $pinning"
  echo "- Drivers: rusqlite 0.37, mysql 28; PostgreSQL: the raw side on postgres 0.19, quarry on tokio-postgres 0.7"
  echo
  echo "## quarry / raw driver"
  echo
  cat "$tables"
  echo "## iterator() over 1,000,000 rows"
  echo
  echo "Peak live heap while streaming (counting allocator), and the whole process's peak"
  echo "RSS from \`/usr/bin/time -v\` in a run that only streams (the fill included)."
  echo
  echo "| backend | rows | peak heap | time | process peak RSS |"
  echo "|---|---:|---:|---:|---:|"
  for b in ${QUARRY_BENCH_DATABASES//,/ }; do
    out=$(QUARRY_BENCH_DATABASES=$b /usr/bin/time -v target/release/iterator_memory 1000000 2000 iterator 2>&1)
    row=$(grep "^| $b " <<<"$out" | awk -F'|' '{print "|" $2 "|" $3 "|" $4 "|" $5 "|"}')
    rss=$(grep "Maximum resident" <<<"$out" | awk '{printf "%.1f MiB", $NF/1024}')
    echo "$row $rss |"
  done
  echo
  echo "For contrast, \`all()\` on the same million rows (\`iterator_memory\` without \`iterator\`):"
  echo
  target/release/iterator_memory 1000000 2000
} > BENCHMARKS.md
echo "wrote BENCHMARKS.md"
