package faults

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// expEvent is one event a watcher must receive.
type expEvent struct {
	rv   uint64
	text string
}

// expected is what a watch of f from RV start must receive: every event of
// etcd's history after start, transformed by f as kube-apiserver does
// (ADDED when an object starts to match, MODIFIED while it matches,
// DELETED when it stops matching or is deleted), each with its revision's
// RV, in etcd's order.
func expected(events []refEvent, start uint64, f filter) []expEvent {
	var out []expEvent
	i := sort.Search(len(events), func(i int) bool { return events[i].rev > start })
	for _, e := range events[i:] {
		was, is := f.matches(e.prev), f.matches(e.cur)
		switch {
		case was && is:
			out = append(out, expEvent{e.rev, render("MODIFIED", e.cur, e.rev)})
		case is:
			out = append(out, expEvent{e.rev, render("ADDED", e.cur, e.rev)})
		case was:
			out = append(out, expEvent{e.rev, render("DELETED", e.prev, e.rev)})
		}
	}
	return out
}

// checkEpoch checks one epoch of a watcher against etcd's history and
// returns the number of events it verified and the first violation ("" if
// none): the list equals etcd's state at its RV; the items are exactly a
// prefix of the expected events (ordered, no gap, no duplicate, every
// event of a revision, RVs never backwards), and every bookmark at R
// follows every expected event with RV <= R.
func checkEpoch(h *history, events []refEvent, ep *epoch, f filter) (int, string) {
	if v := checkList(h.stateAt(events, ep.start), ep.list, f, ep.start); v != "" {
		return 0, v
	}
	exp := expected(events, ep.start, f)
	j, prev := 0, ep.start
	for n, it := range ep.items {
		where := fmt.Sprintf("item %d of the epoch from RV %d", n, ep.start)
		if it.rv < prev {
			return j, fmt.Sprintf("%s: RV %d after RV %d (backwards)", where, it.rv, prev)
		}
		prev = it.rv
		if it.bookmark {
			if j < len(exp) && exp[j].rv <= it.rv {
				return j, fmt.Sprintf("%s: BOOKMARK at %d before the unsent event %q", where, it.rv, exp[j].text)
			}
			continue
		}
		if j >= len(exp) {
			return j, fmt.Sprintf("%s: %q beyond etcd's history (last expected %q)", where, it.text, lastText(exp))
		}
		if it.text != exp[j].text {
			return j, fmt.Sprintf("%s: got %q, want %q (%s)", where, it.text, exp[j].text, diagnose(exp, j, it.text))
		}
		j++
	}
	return j, ""
}

func lastText(exp []expEvent) string {
	if len(exp) == 0 {
		return "none"
	}
	return exp[len(exp)-1].text
}

// diagnose names the kind of a mismatch at exp[j].
func diagnose(exp []expEvent, j int, got string) string {
	if k := slices.IndexFunc(exp[j:], func(e expEvent) bool { return e.text == got }); k > 0 {
		return fmt.Sprintf("gap: %d expected events skipped, the first of revision %d", k, exp[j].rv)
	}
	if slices.ContainsFunc(exp[:j], func(e expEvent) bool { return e.text == got }) {
		return "duplicate of an event already received"
	}
	return "not in etcd's history at this place"
}

// checkList compares the items of a list at rv with etcd's state at rv,
// filtered by f.
func checkList(state map[string]*obj, items []*obj, f filter, rv uint64) string {
	want := map[string]int64{}
	for k, o := range state {
		if f.matches(o) {
			want[k] = o.gen
		}
	}
	got := map[string]int64{}
	for _, o := range items {
		got[o.key()] = o.gen
	}
	var diffs []string
	for k, g := range want {
		if gg, ok := got[k]; !ok {
			diffs = append(diffs, "missing "+k)
		} else if gg != g {
			diffs = append(diffs, fmt.Sprintf("%s at g%d, want g%d", k, gg, g))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "extra "+k)
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	sort.Strings(diffs)
	if len(diffs) > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("and %d more", len(diffs)-5))
	}
	return fmt.Sprintf("LIST of %s at RV %d (%d items, etcd has %d): %s", f, rv, len(got), len(want), strings.Join(diffs, "; "))
}

// progress is how many of the expected events the watcher's current epoch
// received; complete when it is open and has them all.
func progress(w *watcher, events []refEvent) (got, want int, complete bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.eps) == 0 {
		return 0, 0, false
	}
	ep := w.eps[len(w.eps)-1]
	for _, it := range ep.items {
		if !it.bookmark {
			got++
		}
	}
	want = len(expected(events, ep.start, w.f))
	return got, want, ep.end == "" && got >= want
}

// lost counts the events a watcher should have received in ep (those up
// to the last RV it reached) but did not: a measure of the damage beyond
// the first violation.
func lost(events []refEvent, ep *epoch, f filter) int {
	got := map[string]bool{}
	for _, it := range ep.items {
		got[it.text] = true
	}
	n := 0
	for _, e := range expected(events, ep.start, f) {
		if e.rv > ep.lastRV() {
			break
		}
		if !got[e.text] {
			n++
		}
	}
	return n
}
