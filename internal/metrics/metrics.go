package metrics

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Registry holds the current values of strata's drift metrics. It is safe
// for concurrent use.
type Registry struct {
	mu        sync.Mutex
	drift     map[string]int
	revisions map[string]string
	duration  time.Duration
	last      time.Time
	success   bool
	checks    uint64
	errors    uint64
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{drift: map[string]int{}, revisions: map[string]string{}}
}

// SetDrift sets the number of drifted objects of a block.
func (r *Registry) SetDrift(block string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drift[block] = n
}

// SetRevision sets the applied source revision of a block; an empty
// revision removes it.
func (r *Registry) SetRevision(block, revision string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if revision == "" {
		delete(r.revisions, block)
		return
	}
	r.revisions[block] = revision
}

// ObserveCheck records a finished check: how long it took, when it ended
// and whether it failed.
func (r *Registry) ObserveCheck(d time.Duration, end time.Time, failed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.duration, r.last, r.success = d, end, !failed
	r.checks++
	if failed {
		r.errors++
	}
}

// Write writes every metric in the Prometheus text format (version 0.0.4).
func (r *Registry) Write(w io.Writer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	b.WriteString("# HELP strata_drift_objects Objects (or releases, sources) of a block that differ from what strata applied.\n")
	b.WriteString("# TYPE strata_drift_objects gauge\n")
	for _, k := range sortedKeys(r.drift) {
		fmt.Fprintf(&b, "strata_drift_objects{block=\"%s\"} %d\n", escape(k), r.drift[k])
	}
	b.WriteString("# HELP strata_check_duration_seconds Duration of the last drift check.\n")
	b.WriteString("# TYPE strata_check_duration_seconds gauge\n")
	fmt.Fprintf(&b, "strata_check_duration_seconds %g\n", r.duration.Seconds())
	b.WriteString("# HELP strata_last_check_timestamp_seconds Unix time when the last drift check ended.\n")
	b.WriteString("# TYPE strata_last_check_timestamp_seconds gauge\n")
	last := 0.0
	if !r.last.IsZero() {
		last = float64(r.last.UnixNano()) / 1e9
	}
	fmt.Fprintf(&b, "strata_last_check_timestamp_seconds %.3f\n", last)
	b.WriteString("# HELP strata_last_check_success 1 when the last drift check finished without error.\n")
	b.WriteString("# TYPE strata_last_check_success gauge\n")
	fmt.Fprintf(&b, "strata_last_check_success %d\n", boolInt(r.success))
	b.WriteString("# HELP strata_checks_total Drift checks run.\n")
	b.WriteString("# TYPE strata_checks_total counter\n")
	fmt.Fprintf(&b, "strata_checks_total %d\n", r.checks)
	b.WriteString("# HELP strata_check_errors_total Drift checks that failed.\n")
	b.WriteString("# TYPE strata_check_errors_total counter\n")
	fmt.Fprintf(&b, "strata_check_errors_total %d\n", r.errors)
	b.WriteString("# HELP strata_source_revision_info The source revision a block was last applied from.\n")
	b.WriteString("# TYPE strata_source_revision_info gauge\n")
	for _, k := range sortedKeys(r.revisions) {
		fmt.Fprintf(&b, "strata_source_revision_info{block=\"%s\",revision=\"%s\"} 1\n", escape(k), escape(r.revisions[k]))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Handler serves /metrics and /healthz (200 "ok" while the process runs).
func (r *Registry) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = r.Write(w)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// escape escapes a label value: backslash, double quote and newline.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
