package api

import "testing"

// TestResourceValidate_FieldOptions: fieldPaths and fieldDefaults may only
// name selectable fields, paths must be dotted segments, and short names
// and categories must be lower-case DNS labels.
func TestResourceValidate_FieldOptions(t *testing.T) {
	jobs := func(mutate func(*Resource)) *Resource {
		r := &Resource{Group: "batch", Version: "v1", Resource: "jobs", Kind: "Job", Namespaced: true,
			SelectableFields: []string{"status.successful"}}
		mutate(r)
		return r
	}
	for _, c := range []struct {
		name string
		r    *Resource
		want string
	}{
		{"Valid", jobs(func(r *Resource) {
			r.FieldPaths = map[string]string{"status.successful": "status.succeeded"}
			r.FieldDefaults = map[string]string{"status.successful": "0"}
			r.ShortNames, r.Categories = []string{"jb"}, []string{"all"}
		}), ""},
		{"PathOfUnselectable", jobs(func(r *Resource) { r.FieldPaths = map[string]string{"status.active": "status.active"} }),
			`resource "jobs.batch": fieldPaths: field "status.active" is not selectable`},
		{"BadPath", jobs(func(r *Resource) { r.FieldPaths = map[string]string{"status.successful": "status..succeeded"} }),
			`resource "jobs.batch": fieldPaths: invalid path "status..succeeded" for field "status.successful"`},
		{"DefaultOfUnselectable", jobs(func(r *Resource) { r.FieldDefaults = map[string]string{"spec.x": "0"} }),
			`resource "jobs.batch": fieldDefaults: field "spec.x" is not selectable`},
		{"BadShortName", jobs(func(r *Resource) { r.ShortNames = []string{"Jb"} }),
			`resource "jobs.batch": invalid short name "Jb"`},
		{"BadCategory", jobs(func(r *Resource) { r.Categories = []string{""} }),
			`resource "jobs.batch": invalid category ""`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.r.Validate()
			if c.want == "" && err != nil || c.want != "" && (err == nil || err.Error() != c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
}
