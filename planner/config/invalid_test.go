package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/strata-gitops/strata/internal/golden"
	"github.com/strata-gitops/strata/internal/view"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/graph"
)

// loadAndGraph loads dir like `strata plan` would (no partial values) and
// builds its graph.
func loadAndGraph(t *testing.T, dir string) (*config.Stack, hcl.Diagnostics) {
	t.Helper()
	st, diags := config.Load(dir, config.LoadOptions{
		Version: "0.1.0",
		Getenv:  func(string) string { return "" },
	})
	if !diags.HasErrors() {
		_, gd := graph.Build(st)
		diags = append(diags, gd...)
	}
	view.SortDiagnostics(diags)
	return st, diags
}

// summaries renders each diagnostic as "file:line: Summary", file relative
// to dir.
func summaries(dir string, diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		loc := "-"
		if d.Subject != nil {
			rel, err := filepath.Rel(dir, d.Subject.Filename)
			if err != nil {
				rel = d.Subject.Filename
			}
			loc = rel + ":" + strconv.Itoa(d.Subject.Start.Line)
		}
		out = append(out, loc+": "+d.Summary)
	}
	return out
}

// TestInvalidStacks loads every broken stack under testdata/invalid and
// checks the diagnostics (summary and file:line) and their rendering
// against a golden file.
func TestInvalidStacks(t *testing.T) {
	tests := map[string][]string{
		"auto_vars_wrong_type":            {"prod.auto.vars.hcl:1: Invalid value for input variable"},
		"bad_version_constraint":          {"main.hcl:2: Invalid version constraint"},
		"conflicting_git_refs":            {"main.hcl:4: Conflicting Git references"},
		"cycle_length_1":                  {"main.hcl:5: Dependency cycle"},
		"cycle_length_2":                  {"main.hcl:5: Dependency cycle"},
		"cycle_length_5":                  {"main.hcl:5: Dependency cycle"},
		"depends_on_string":               {"main.hcl:11: Invalid depends_on entry"},
		"duplicate_across_files":          {"other.hcl:3: Duplicate source block"},
		"duplicate_kustomization":         {"main.hcl:9: Duplicate kustomization block"},
		"duplicate_local":                 {"main.hcl:6: Duplicate local value"},
		"duplicate_nested_block":          {"main.hcl:6: Duplicate upgrade block"},
		"duplicate_variable":              {"main.hcl:5: Duplicate variable block"},
		"env_unset":                       {"main.hcl:5: Invalid function argument"},
		"file_not_found":                  {"main.hcl:4: Invalid function argument"},
		"invalid_block_name":              {"main.hcl:1: Invalid block name"},
		"invalid_chart_version":           {"main.hcl:7: Invalid version constraint"},
		"invalid_crds_policy":             {"main.hcl:4: Invalid value for crds"},
		"invalid_duration":                {"main.hcl:7: Invalid duration"},
		"insecure_host_key":               {"main.hcl:6: Unknown SSH hosts are never trusted"},
		"submodules":                      {"main.hcl:4: Unsupported argument value"},
		"invalid_git_url":                 {"main.hcl:2: Invalid Git URL"},
		"invalid_health_check_condition":  {"main.hcl:11: Invalid condition type"},
		"invalid_helm_url":                {"main.hcl:2: Invalid Helm repository URL"},
		"invalid_namespace":               {"main.hcl:3: Invalid namespace"},
		"invalid_release_name":            {"main.hcl:1: Invalid release name"},
		"invalid_semver":                  {"main.hcl:3: Invalid version constraint"},
		"invalid_service_account":         {"main.hcl:7: Invalid service account"},
		"invalid_substitution_name":       {"main.hcl:7: Invalid substitution name"},
		"service_account_no_namespace":    {"main.hcl:7: Service account without a namespace"},
		"local_cycle":                     {"main.hcl:2: Cycle in local values"},
		"local_path_missing":              {"main.hcl:2: Directory not found"},
		"missing_git_url":                 {"main.hcl:1: Missing required argument"},
		"missing_health_check_name":       {"main.hcl:7: Missing required argument"},
		"missing_release_chart":           {"main.hcl:1: Missing required argument"},
		"no_stack_files":                  {"-: No stack files"},
		"notification_bad_type":           {"main.hcl:2: Invalid value for type"},
		"required_variable_missing":       {"main.hcl:1: No value for required variable"},
		"required_version_unsatisfied":    {"main.hcl:2: Unsupported strata version"},
		"sensitive_in_duration_error":     {"main.hcl:13: Invalid duration"},
		"sensitive_in_type_error":         {"main.hcl:9: Incorrect attribute value type"},
		"sensitive_in_validation_message": {"main.hcl:6: Invalid value for variable"},
		"source_is_string":                {"main.hcl:6: Invalid reference"},
		"syntax_bad_attribute":            {"main.hcl:2: Argument or block definition required"},
		"syntax_unterminated_string":      {"main.hcl:2: Invalid multi-line string", "main.hcl:2: Unterminated template string", "main.hcl:3: Invalid multi-line string"},
		"unknown_attribute":               {"main.hcl:2: Unsupported argument"},
		"unknown_backend_type":            {"main.hcl:2: Unknown backend type"},
		"unknown_block_in_expression":     {"main.hcl:7: Reference to undeclared block"},
		"unknown_block_type":              {"main.hcl:1: Unsupported block type"},
		"unknown_depends_on":              {"main.hcl:11: Reference to undeclared block"},
		"unknown_function":                {"main.hcl:7: Call to unknown function"},
		"unknown_local":                   {"main.hcl:7: Reference to undeclared local value"},
		"unknown_nested_attribute":        {"main.hcl:7: Missing required argument", "main.hcl:9: Unsupported argument"},
		"unknown_nested_block":            {"main.hcl:4: Unsupported block type"},
		"unknown_source_reference":        {"main.hcl:6: Reference to undeclared block"},
		"unknown_source_type":             {"main.hcl:1: Unknown source type"},
		"unknown_variable":                {"main.hcl:11: Reference to undeclared input variable"},
		"values_file_missing":             {"main.hcl:3: Values file not found"},
		"variable_default_wrong_type":     {"main.hcl:1: No value for required variable", "main.hcl:3: Invalid value for input variable"},
		"variable_validation_fails":       {"main.hcl:3: Invalid value for variable"},
		"wrong_kind_source_helm":          {"main.hcl:6: Invalid reference kind"},
		"wrong_kind_source_release":       {"main.hcl:6: Invalid reference kind"},
		"wrong_type_bool":                 {"main.hcl:7: Incorrect attribute value type"},
		"wrong_type_list":                 {"main.hcl:3: Incorrect attribute value type"},
		"wrong_type_number":               {"main.hcl:3: Incorrect attribute value type"},
		"wrong_type_values":               {"main.hcl:3: Incorrect attribute value type"},
		"syntax_missing_brace":            {"main.hcl:1: Unclosed configuration block"},
		"wrong_kind_same_name":            {"main.hcl:6: Reference to undeclared block"},
		"sensitive_in_function_error":     {"main.hcl:8: Invalid function argument", "main.hcl:10: Error in function call"},
		"values_not_json":                 {"main.hcl:3: Invalid values"},
		"oci_missing_ref":                 {"main.hcl:1: Missing artifact reference"},
		"oci_conflicting_refs":            {"main.hcl:4: Conflicting artifact references"},
		"oci_invalid_digest":              {"main.hcl:3: Invalid digest"},
		"oci_invalid_url":                 {"main.hcl:2: Invalid OCI repository URL"},
		"oci_tag_in_url":                  {"main.hcl:2: Tag or digest in the URL"},
		"wrong_kind_source_oci_release":   {"main.hcl:6: Invalid reference kind"},
	}
	dirs, err := os.ReadDir("testdata/invalid")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range dirs {
		names = append(names, d.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "invalid", name)
			st, diags := loadAndGraph(t, dir)
			if !diags.HasErrors() {
				t.Fatalf("Load(%s) found no error", dir)
			}
			got := summaries(dir, diags)
			want, ok := tests[name]
			if !ok {
				t.Errorf("no expectation for %s; got:\n\t%q,", name, got)
			} else if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
			var buf bytes.Buffer
			if err := view.Diagnostics(&buf, diags, st.Files, view.DiagOptions{}); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(buf.String(), "hunter2") {
				t.Errorf("a sensitive value leaked into the diagnostics:\n%s", buf.String())
			}
			golden.Check(t, filepath.Join(dir, "diags.golden"), buf.Bytes())
		})
	}
}
