// Package metrics serves the Prometheus metrics of `strata drift --watch`
// in the text exposition format, with a /healthz endpoint.
//
// The metrics are few and fixed, so they are kept in a small registry and
// written by hand rather than through a client library:
//
//	strata_drift_objects{block}                 gauge: drifted objects per block
//	strata_check_duration_seconds               gauge: duration of the last check
//	strata_last_check_timestamp_seconds         gauge: end of the last check (Unix time)
//	strata_last_check_success                   gauge: 1 when the last check had no error
//	strata_checks_total                         counter: checks run
//	strata_check_errors_total                   counter: checks with an error
//	strata_source_revision_info{block,revision} gauge: 1 for the applied revision of each block
package metrics
