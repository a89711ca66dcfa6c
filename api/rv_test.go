package api

import (
	"fmt"
	"testing"
)

// The parsed resourceVersion of every Get, List and Watch option
// combination that validates: the one place where "" / "0" / n, the match
// and the limit are turned into what a read asks for.
func TestParse_ReadRequests(t *testing.T) {
	yes, no := true, false
	for _, c := range []struct {
		name string
		got  func() (any, error)
		want string
	}{
		{"get consistent", func() (any, error) { return GetOptions{}.Parse() }, "{0 0}"},
		{"get any", func() (any, error) { return GetOptions{ResourceVersion: "0"}.Parse() }, "{1 0}"},
		{"get not older", func() (any, error) { return GetOptions{ResourceVersion: "7"}.Parse() }, "{2 7}"},
		{"list consistent", func() (any, error) { return ListOptions{Limit: 5}.Parse() }, "{0 0}"},
		{"list any with limit", func() (any, error) { return ListOptions{ResourceVersion: "0", Limit: 5}.Parse() }, "{1 0}"},
		{"list not older", func() (any, error) { return ListOptions{ResourceVersion: "7"}.Parse() }, "{2 7}"},
		{"list not older, limit", func() (any, error) {
			return ListOptions{ResourceVersion: "7", ResourceVersionMatch: MatchNotOlderThan, Limit: 5}.Parse()
		}, "{2 7}"},
		{"list exact by limit", func() (any, error) { return ListOptions{ResourceVersion: "7", Limit: 5}.Parse() }, "{3 7}"},
		{"list exact", func() (any, error) {
			return ListOptions{ResourceVersion: "7", ResourceVersionMatch: MatchExact}.Parse()
		}, "{3 7}"},
		{"watch legacy consistent", func() (any, error) { return WatchOptions{}.Parse() }, "{true {0 0} true false}"},
		{"watch legacy any", func() (any, error) { return WatchOptions{ResourceVersion: "0"}.Parse() }, "{true {1 0} false false}"},
		{"watch from n", func() (any, error) { return WatchOptions{ResourceVersion: "7"}.Parse() }, "{false {3 7} false false}"},
		{"watchlist consistent", func() (any, error) {
			return WatchOptions{SendInitialEvents: &yes, ResourceVersionMatch: MatchNotOlderThan, AllowWatchBookmarks: true}.Parse()
		}, "{true {0 0} false true}"},
		{"watchlist not older, no bookmarks", func() (any, error) {
			return WatchOptions{SendInitialEvents: &yes, ResourceVersionMatch: MatchNotOlderThan, ResourceVersion: "7"}.Parse()
		}, "{true {2 7} false false}"},
		{"watch no initial, consistent", func() (any, error) {
			return WatchOptions{SendInitialEvents: &no, ResourceVersionMatch: MatchNotOlderThan}.Parse()
		}, "{false {0 0} false false}"},
		{"watch no initial, any", func() (any, error) {
			return WatchOptions{SendInitialEvents: &no, ResourceVersionMatch: MatchNotOlderThan, ResourceVersion: "0"}.Parse()
		}, "{false {1 0} false false}"},
		{"watch no initial, from n", func() (any, error) {
			return WatchOptions{SendInitialEvents: &no, ResourceVersionMatch: MatchNotOlderThan, ResourceVersion: "7"}.Parse()
		}, "{false {3 7} false false}"},
	} {
		got, err := c.got()
		if err != nil || fmt.Sprint(got) != c.want {
			t.Errorf("%s: %v, %v; want %s", c.name, got, err, c.want)
		}
	}
}
