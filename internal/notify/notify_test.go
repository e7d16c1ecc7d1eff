package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// receiver is a real HTTP server that records bodies and answers with the
// queued status codes (200 once the queue is empty).
type receiver struct {
	mu      sync.Mutex
	codes   []int
	bodies  []string
	headers []http.Header
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies = append(r.bodies, string(b))
	r.headers = append(r.headers, req.Header.Clone())
	code := 200
	if len(r.codes) > 0 {
		code, r.codes = r.codes[0], r.codes[1:]
	}
	w.WriteHeader(code)
}

var ev = Event{Type: Drift, Stack: "prod", Block: "kustomization.app", Summary: "1 object drifted",
	Items: []Item{{Address: "kustomization.app/ConfigMap/apps/cfg", Kind: "modified", Message: "changed", Fields: []string{"data.key"}}},
	Time:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}

func TestSend(t *testing.T) {
	tests := map[string]struct {
		typ      string
		codes    []int
		events   []string
		wantN    int
		wantErr  string
		wantBody string
	}{
		"webhook":                {typ: "webhook", wantN: 1, wantBody: `{"event":"drift","stack":"prod","block":"kustomization.app","summary":"1 object drifted","items":[{"address":"kustomization.app/ConfigMap/apps/cfg","kind":"modified","message":"changed","fields":["data.key"]}],"time":"2026-01-02T03:04:05Z"}`},
		"slack":                  {typ: "slack", wantN: 1, wantBody: `{"text":":warning: *strata drift* ` + "`prod`" + `: 1 object drifted\n• ` + "`kustomization.app/ConfigMap/apps/cfg`" + ` changed (data.key)"}`},
		"retried 5xx":            {typ: "webhook", codes: []int{503, 500}, wantN: 3},
		"retried 429":            {typ: "webhook", codes: []int{429}, wantN: 2},
		"4xx not retried":        {typ: "webhook", codes: []int{400}, wantN: 1, wantErr: "notification hook: server answered 400 Bad Request, which is not retried"},
		"5xx, then 4xx":          {typ: "webhook", codes: []int{503, 404}, wantN: 2, wantErr: "notification hook: attempt 2 of 3: server answered 404 Not Found, which is not retried"},
		"gives up":               {typ: "webhook", codes: []int{500, 500, 500, 500}, wantN: 3, wantErr: "notification hook: giving up after 3 attempts: server answered 500 Internal Server Error"},
		"filtered out":           {typ: "webhook", events: []string{"recovered"}, wantN: 0},
		"filter lets it through": {typ: "webhook", events: []string{"error", "drift"}, wantN: 1},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			rc := &receiver{codes: tt.codes}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			secretURL := srv.URL + "/hook/T000/SECRET-TOKEN"
			n := New([]Target{{Name: "hook", Type: tt.typ, URL: secretURL, Events: tt.events,
				Headers: map[string]string{"Authorization": "Bearer SECRET-HEADER"}}},
				Options{Attempts: 3, Backoff: time.Millisecond})
			err := n.Send(context.Background(), ev)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Send: %v", err)
			}
			if tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Fatalf("Send error = %v, want %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error reveals a credential: %v", err)
			}
			if len(rc.bodies) != tt.wantN {
				t.Fatalf("got %d requests, want %d", len(rc.bodies), tt.wantN)
			}
			if tt.wantBody != "" {
				if d := cmp.Diff(tt.wantBody, rc.bodies[0]); d != "" {
					t.Errorf("body (-want +got):\n%s", d)
				}
				if !json.Valid([]byte(rc.bodies[0])) {
					t.Error("body is not JSON")
				}
			}
			for _, h := range rc.headers {
				if h.Get("Authorization") != "Bearer SECRET-HEADER" || h.Get("Content-Type") != "application/json" {
					t.Errorf("headers = %v", h)
				}
			}
		})
	}
}

func TestSendUnreachableHidesURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL + "/SECRET-TOKEN"
	srv.Close()
	n := New([]Target{{Name: "ops", Type: "slack", URL: u}}, Options{Attempts: 2, Backoff: time.Millisecond})
	err := n.Send(context.Background(), ev)
	if err == nil {
		t.Fatal("Send to a closed server succeeded")
	}
	if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), srv.URL) {
		t.Errorf("error reveals the URL: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "notification ops: giving up after 2 attempts") {
		t.Errorf("error = %v", err)
	}
}

func TestSendStopsWithContext(t *testing.T) {
	rc := &receiver{codes: []int{500, 500, 500}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	n := New([]Target{{Name: "x", URL: srv.URL}}, Options{Attempts: 5, Backoff: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := n.Send(ctx, ev); err == nil {
		t.Fatal("want an error")
	}
	if time.Since(start) > 5*time.Second {
		t.Error("Send did not stop with its context")
	}
}

// TestEventNamesEnvironment checks that an event of a stack's environment
// names it, in the webhook's JSON and in the Slack text.
func TestEventNamesEnvironment(t *testing.T) {
	e := ev
	e.Environment = "staging"
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"environment":"staging"`) {
		t.Errorf("JSON lacks the environment: %s", b)
	}
	if got := SlackText(e); !strings.HasPrefix(got, ":warning: *strata drift* `prod` (environment `staging`): 1 object drifted") {
		t.Errorf("Slack text = %q", got)
	}
	if b, _ := json.Marshal(ev); strings.Contains(string(b), "environment") {
		t.Errorf("an event without environment names one: %s", b)
	}
}
