#!/usr/bin/env bash
# Runs the benchmark suite and writes BENCHMARKS.md at the repository root:
# quarry against the raw drivers (cargo bench), then iterator() memory over 1M rows.
# Needs the PostgreSQL and MariaDB servers of the README's "Databases" section.
set -euo pipefail
cd "$(dirname "$0")/.."
export QUARRY_BENCH_DATABASES="${QUARRY_BENCH_DATABASES:-sqlite,postgres,mysql}"
tables=$(mktemp)
trap 'rm -f "$tables"' EXIT

# The benchmark and the local database servers share one CPU while the suite runs
# (benches/pinned.sh says why; QUARRY_BENCH_CPU=none runs unpinned).
cargo bench -p quarry-benches --bench orm --no-run
export QUARRY_BENCH_CPU="${QUARRY_BENCH_CPU:-$(($(nproc) - 1))}"
if [[ $QUARRY_BENCH_CPU == none ]]; then
  pinning="not pinned: client and servers on any CPU"
else
  pinning="the benchmark and the local PostgreSQL and MariaDB processes pinned to CPU $QUARRY_BENCH_CPU (\`benches/pinned.sh\`)"
fi
QUARRY_BENCH_OUT="$tables" bash benches/pinned.sh cargo bench -p quarry-benches --bench orm
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
