package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The event types. They are the values of a notification block's events.
const (
	// Drift: drift was found (or the set of drifted objects changed).
	Drift = "drift"
	// Recovered: a block that had drift has none any more.
	Recovered = "recovered"
	// Error: a check or an apply failed.
	Error = "error"
)

// Event is one notification.
type Event struct {
	// Type is Drift, Recovered or Error.
	Type string `json:"event"`
	// Stack is the stack's name.
	Stack string `json:"stack"`
	// Environment is the stack's environment (-e NAME), empty for a stack
	// without environments.
	Environment string `json:"environment,omitempty"`
	// Block is the block address the event is about.
	Block string `json:"block,omitempty"`
	// Summary is one human sentence.
	Summary string `json:"summary"`
	// Items are the drifted objects (Drift).
	Items []Item `json:"items,omitempty"`
	// Time is when the event happened.
	Time time.Time `json:"time"`
}

// Item is one drifted object, release or source: what changed, not to what.
type Item struct {
	Address string   `json:"address"`
	Kind    string   `json:"kind"`
	Message string   `json:"message"`
	Fields  []string `json:"fields,omitempty"`
}

// Target is one destination, from a notification block.
type Target struct {
	// Name is the notification block's name, used in errors.
	Name string
	// Type is "webhook" or "slack".
	Type string
	// URL and Headers are credentials: they never appear in errors.
	URL     string
	Headers map[string]string
	// Events filters the event types sent; empty sends all.
	Events []string
}

// Options configure a Notifier. Zero values take the defaults.
type Options struct {
	// Client sends the requests (default: a client with a 10 s timeout).
	Client *http.Client
	// Attempts is how many times a delivery is tried (default 5).
	Attempts int
	// Backoff is the wait before the second attempt, doubled after each
	// (default 1s), up to MaxBackoff (default 30s).
	Backoff, MaxBackoff time.Duration
	// UserAgent is sent with every request (default "strata").
	UserAgent string
}

func (o Options) withDefaults() Options {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.UserAgent == "" {
		o.UserAgent = "strata"
	}
	return o
}

// Notifier sends events to targets. It is safe for concurrent use.
type Notifier struct {
	targets []Target
	opts    Options
}

// New returns a Notifier for the targets.
func New(targets []Target, opts Options) *Notifier {
	return &Notifier{targets: targets, opts: opts.withDefaults()}
}

// Len returns the number of targets.
func (n *Notifier) Len() int { return len(n.targets) }

// Send delivers ev to every target that wants its type, retrying failed
// deliveries, and returns the failures joined. It returns early when ctx
// ends.
func (n *Notifier) Send(ctx context.Context, ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	var errs []error
	for _, t := range n.targets {
		if len(t.Events) > 0 && !slices.Contains(t.Events, ev.Type) {
			continue
		}
		body, err := encode(t.Type, ev)
		if err != nil {
			errs = append(errs, fmt.Errorf("notification %s: %w", t.Name, err))
			continue
		}
		if err := n.deliver(ctx, t, body); err != nil {
			errs = append(errs, fmt.Errorf("notification %s: %w", t.Name, err))
		}
	}
	return errors.Join(errs...)
}

// encode returns the request body for a target type.
func encode(typ string, ev Event) ([]byte, error) {
	switch typ {
	case "", "webhook":
		return json.Marshal(ev)
	case "slack":
		return json.Marshal(map[string]string{"text": SlackText(ev)})
	}
	return nil, fmt.Errorf("unknown notification type %q", typ)
}

// SlackText renders an event as Slack mrkdwn: the summary and up to ten
// drifted objects with their changed fields.
func SlackText(ev Event) string {
	var b strings.Builder
	icon := map[string]string{Drift: ":warning:", Recovered: ":white_check_mark:", Error: ":x:"}[ev.Type]
	stack := "`" + ev.Stack + "`"
	if ev.Environment != "" {
		stack += " (environment `" + ev.Environment + "`)"
	}
	fmt.Fprintf(&b, "%s *strata %s* %s: %s", icon, ev.Type, stack, ev.Summary)
	for i, it := range ev.Items {
		if i == 10 {
			fmt.Fprintf(&b, "\n…and %d more", len(ev.Items)-10)
			break
		}
		fmt.Fprintf(&b, "\n• `%s` %s", it.Address, it.Message)
		if len(it.Fields) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(it.Fields, ", "))
		}
	}
	return b.String()
}

// deliver posts body, retrying network errors, 429 and 5xx with backoff.
// Its error says what happened: the answer that is not retried (any other
// 4xx, on the first attempt or a later one), the attempts made when the
// retries ran out, or the end of ctx.
func (n *Notifier) deliver(ctx context.Context, t Target, body []byte) error {
	wait := n.opts.Backoff
	for attempt := 1; ; attempt++ {
		retry, err := n.post(ctx, t, body)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("%w (after %d attempts: %v)", ctx.Err(), attempt, err)
		case !retry && attempt == 1:
			return fmt.Errorf("%w, which is not retried", err)
		case !retry:
			return fmt.Errorf("attempt %d of %d: %w, which is not retried", attempt, n.opts.Attempts, err)
		case attempt >= n.opts.Attempts:
			return fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (after %d attempts: %v)", ctx.Err(), attempt, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, n.opts.MaxBackoff)
	}
}

// post sends one request. Its errors never contain the URL.
func (n *Notifier) post(ctx context.Context, t Target, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("invalid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", n.opts.UserAgent)
	for k, v := range t.Headers {
		req.Header.Set(k, v)
	}
	res, err := n.opts.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL
		}
		return ctx.Err() == nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	switch {
	case res.StatusCode < 300:
		return false, nil
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		return true, fmt.Errorf("server answered %s", res.Status)
	}
	return false, fmt.Errorf("server answered %s", res.Status)
}
