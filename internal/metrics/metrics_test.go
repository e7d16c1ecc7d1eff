package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWrite(t *testing.T) {
	r := New()
	r.SetDrift("kustomization.app", 2)
	r.SetDrift("release.db", 0)
	r.SetRevision("kustomization.app", `main@sha1:abc"\`)
	r.ObserveCheck(1500*time.Millisecond, time.Unix(1700000000, 250e6), false)
	r.ObserveCheck(time.Second, time.Unix(1700000010, 0), true)
	var b strings.Builder
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(b.String(), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			got = append(got, l)
		}
	}
	want := []string{
		`strata_drift_objects{block="kustomization.app"} 2`,
		`strata_drift_objects{block="release.db"} 0`,
		`strata_check_duration_seconds 1`,
		`strata_last_check_timestamp_seconds 1700000010.000`,
		`strata_last_check_success 0`,
		`strata_checks_total 2`,
		`strata_check_errors_total 1`,
		`strata_source_revision_info{block="kustomization.app",revision="main@sha1:abc\"\\"} 1`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("metrics (-want +got):\n%s", d)
	}
	if !strings.Contains(b.String(), "# TYPE strata_checks_total counter") {
		t.Error("missing TYPE line")
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(New().Handler())
	defer srv.Close()
	for path, want := range map[string]string{"/healthz": "ok\n", "/metrics": "strata_checks_total 0"} {
		res, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d %q, want %q", path, res.StatusCode, body, want)
		}
	}
}
