package api

import (
	"fmt"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// Predicate filters objects by label and field selectors. The zero value
// matches everything. A Predicate is immutable and safe for concurrent use.
type Predicate struct {
	Label labels.Selector // nil matches everything
	Field fields.Selector // nil matches everything
}

// ParsePredicate parses the labelSelector and fieldSelector parameters.
// Field selectors may only name metadata.name, metadata.namespace and the
// resource's selectable fields; anything else, or bad syntax, gives an
// error wrapping ErrBadRequest (B24).
func ParsePredicate(labelSelector, fieldSelector string, selectable []string) (Predicate, error) {
	var p Predicate
	if labelSelector != "" {
		sel, err := labels.Parse(labelSelector)
		if err != nil {
			return p, BadParam("labelSelector", "unable to parse requirement: %v", err)
		}
		if !sel.Empty() {
			p.Label = sel
		}
	}
	if fieldSelector != "" {
		sel, err := fields.ParseSelector(fieldSelector)
		if err != nil {
			return p, BadParam("fieldSelector", "invalid field selector: %v", err)
		}
		for _, r := range sel.Requirements() {
			if !fieldAllowed(r.Field, selectable) {
				return p, BadParam("fieldSelector", "field label not supported: %s", r.Field)
			}
		}
		if !sel.Empty() {
			p.Field = sel
		}
	}
	return p, nil
}

func fieldAllowed(f string, selectable []string) bool {
	if f == "metadata.name" || f == "metadata.namespace" {
		return true
	}
	for _, s := range selectable {
		if s == f {
			return true
		}
	}
	return false
}

// Empty reports whether the predicate matches everything.
func (p Predicate) Empty() bool { return p.Label == nil && p.Field == nil }

// Matches reports whether obj passes both selectors.
func (p Predicate) Matches(obj *Object) bool {
	if p.Label != nil && !p.Label.Matches(obj.Labels) {
		return false
	}
	if p.Field != nil && !p.Field.Matches((*objectFields)(obj)) {
		return false
	}
	return true
}

// ExactField returns the value the field selector requires field to have
// exactly ("f=v" or "f==v"), if it does: the hook for indexes (B25).
func (p Predicate) ExactField(field string) (string, bool) {
	if p.Field == nil {
		return "", false
	}
	return p.Field.RequiresExactMatch(field)
}

// String renders the predicate for logs.
func (p Predicate) String() string {
	l, f := "", ""
	if p.Label != nil {
		l = p.Label.String()
	}
	if p.Field != nil {
		f = p.Field.String()
	}
	return fmt.Sprintf("labels(%s) fields(%s)", l, f)
}
