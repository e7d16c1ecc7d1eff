#!/bin/sh
# bench.sh runs the benchmarks of `make bench` one after the other, each in
# a go test of its own (so that the order is fixed and a failing one does
# not stop the others), and writes their output, with the run's context
# lines (date, Go version, commit, load at the start and at the end, any
# subset or setting), to $OUT, which internal/cmd/benchdoc turns into
# docs/performance.md. It prints the output as it comes, with timestamped
# progress lines. It exits non-zero when a benchmark failed.
#
# Environment: OUT (the output file), GO (default go), BENCHTIME (default
# 3x), BENCH (a -bench regular expression: a subset of the module's
# benchmarks instead of the set of issue 19), STRATA_BENCH_* (the
# benchmarks' own settings, recorded in the output as such).
set -u
out=${OUT:?OUT names the output file}
go=${GO:-go}
benchtime=${BENCHTIME:-3x}
bench=${BENCH:-}

load() { echo "$(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"; }
say() { echo "progress $(date -u +%H:%M:%S) $*" | tee -a "$out"; }

# The set of issue 19, in the order run: package:regexp.
steps="./cmd/strata:^BenchmarkCommandVersusKubectl\$ ./providers/kube:^BenchmarkOneKustomization5000\$ ./cmd/strata:^BenchmarkDrift5000\$ ./cmd/strata:^BenchmarkScale\$"
if [ -n "$bench" ]; then
	# The packages with a benchmark function whose name matches (the part
	# of the expression before any /, as go test matches it).
	top=${bench%%/*}
	steps=$(grep -rE --include='*_test.go' -o '^func Benchmark[A-Za-z0-9_]*' . |
		sed 's/:func / /' | while read -r file fn; do
			if echo "$fn" | grep -qE -- "$top"; then echo "./$(dirname "${file#./}"):$bench"; fi
		done | sort -u)
	[ -n "$steps" ] || { echo "bench.sh: no benchmark matches BENCH=$bench" >&2; exit 2; }
fi

{
	echo "source: make bench BENCHTIME=$benchtime${bench:+ BENCH=$bench}"
	echo "date: $(date -u +%FT%TZ)"
	echo "go: $($go version)"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . ':!docs/performance.md' 2>/dev/null || echo ', with uncommitted changes')"
	[ -z "$bench" ] || echo "subset: BENCH=$bench: the benchmarks that match, not the set of issue 19"
	env | grep '^STRATA_BENCH_' | sort | sed 's/^/setting: /; s/$/ (not the default)/'
	echo "load: $(load) at the start, $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) memory"
} > "$out"
cat "$out"

failed=0
n=$(echo $steps | wc -w)
i=0
for step in $steps; do
	i=$((i + 1))
	pkg=${step%%:*}
	re=${step#*:}
	say "step $i/$n: go test $pkg -bench '$re' -benchtime $benchtime (load $(load))"
	{
		$go test -p 1 -v -run '^$' -bench "$re" -benchtime "$benchtime" -timeout 100m "$pkg" 2>&1
		echo $? > "$out.rc"
	} | tee -a "$out"
	rc=$(cat "$out.rc")
	if [ "$rc" != 0 ]; then
		failed=1
		echo "step-failed: go test $pkg -bench '$re' exited with $rc" | tee -a "$out"
	fi
done
rm -f "$out.rc"
echo "load: $(load) at the end" | tee -a "$out"
say "done; output in $out"
exit $failed
