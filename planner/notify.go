package planner

import (
	"sort"

	"github.com/strata-gitops/strata/internal/notify"
	"github.com/strata-gitops/strata/planner/config"
)

// Notifier builds the notifier of the stack's notification blocks (none
// when st is nil).
func Notifier(st *config.Stack) *notify.Notifier {
	var ts []notify.Target
	if st != nil {
		names := make([]string, 0, len(st.Notifications))
		for n := range st.Notifications {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			n := st.Notifications[name]
			t := notify.Target{Name: name, Type: n.Type, URL: n.URL.Reveal(), Events: n.Events}
			if len(n.Headers) > 0 {
				t.Headers = make(map[string]string, len(n.Headers))
				for k, v := range n.Headers {
					t.Headers[k] = v.Reveal()
				}
			}
			ts = append(ts, t)
		}
	}
	return notify.New(ts, notify.Options{})
}
