package api

import "fmt"

// The values of resourceVersionMatch.
const (
	MatchNone         = ""
	MatchNotOlderThan = "NotOlderThan"
	MatchExact        = "Exact"
)

// GetOptions are the options of a Get.
type GetOptions struct {
	// ResourceVersion: "" consistent read, "0" any cached state, "n" a state
	// not older than n (B1-B3).
	ResourceVersion string
}

// Validate checks the options; the error wraps ErrBadRequest.
func (o GetOptions) Validate() error {
	_, err := o.Parse()
	return err
}

// Parse validates the options and returns what the Get asks for:
// RVConsistent, RVAny or RVNotOlderThan n.
func (o GetOptions) Parse() (RVRequest, error) { return parseRV(o.ResourceVersion) }

// ListOptions are the options of a List.
type ListOptions struct {
	// Namespace restricts the list to one namespace; "" lists all.
	Namespace            string
	ResourceVersion      string
	ResourceVersionMatch string
	// Limit is the page size; 0 means no limit.
	Limit int64
	// Continue is a token from a previous page (B22).
	Continue  string
	Predicate Predicate
	// SendInitialEvents is only ever valid on a watch; a list that carries
	// it is rejected (B16).
	SendInitialEvents *bool
}

// Validate checks the option combinations of B16 the way kube-apiserver's
// option validation does: 422 (ErrInvalid) for a bad resourceVersionMatch
// or sendInitialEvents, 400 (ErrBadRequest) for a malformed number or a
// resourceVersion together with continue.
func (o ListOptions) Validate() error {
	_, err := o.Parse()
	return err
}

// Parse validates the options (see Validate) and returns which state the
// list shows: RVConsistent (""), RVAny ("0"), RVNotOlderThan n, or RVExact n
// for resourceVersionMatch=Exact and for a limited list without a match
// (the snapshot at n, as kube-apiserver pages from it). A continue token's
// own revision is decoded separately (DecodeContinue).
func (o ListOptions) Parse() (RVRequest, error) {
	if o.Limit < 0 {
		return RVRequest{}, NegativeParam("limit", o.Limit)
	}
	rv, err := parseRV(o.ResourceVersion)
	if err != nil {
		return rv, err
	}
	if err := o.checkCombination(); err != nil {
		return rv, err
	}
	if rv.Kind == RVNotOlderThan && (o.ResourceVersionMatch == MatchExact || o.ResourceVersionMatch == MatchNone && o.Limit > 0) {
		rv.Kind = RVExact
	}
	return rv, nil
}

// checkCombination checks sendInitialEvents, resourceVersionMatch and
// continue against each other.
func (o ListOptions) checkCombination() error {
	if o.SendInitialEvents != nil {
		return ForbiddenField("sendInitialEvents", "sendInitialEvents is forbidden for list")
	}
	switch o.ResourceVersionMatch {
	case MatchNone:
	case MatchNotOlderThan, MatchExact:
		if o.ResourceVersion == "" {
			return ForbiddenField("resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided")
		}
		if o.Continue != "" {
			return ForbiddenField("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided")
		}
		if o.ResourceVersionMatch == MatchExact && o.ResourceVersion == "0" {
			return ForbiddenField("resourceVersionMatch", `resourceVersionMatch "exact" is forbidden for resourceVersion "0"`)
		}
	default:
		return unsupported("resourceVersionMatch", o.ResourceVersionMatch, MatchExact, MatchNotOlderThan)
	}
	if o.Continue != "" && o.ResourceVersion != "" && o.ResourceVersion != "0" {
		return BadParam("resourceVersion", "specifying resource version is not allowed when using continue")
	}
	return nil
}

// WatchOptions are the options of a Watch. The stream's deadline is the
// deadline of the context given to the watcher's Next.
type WatchOptions struct {
	Namespace            string
	ResourceVersion      string
	ResourceVersionMatch string
	// SendInitialEvents: nil means unset (legacy: initial ADDED events only
	// for RV "" and "0").
	SendInitialEvents   *bool
	AllowWatchBookmarks bool
	Predicate           Predicate
}

// Validate checks the combinations of B36: 422 (ErrInvalid) naming the
// field, 400 for a malformed resourceVersion.
func (o WatchOptions) Validate() error {
	_, err := o.Parse()
	return err
}

// WatchStart is where a watch begins, decided once from its options
// (B30-B34); both storages follow it.
//
//	SIE=true,  RV ""   Initial, RVConsistent (strict), EndBookmark if allowed
//	SIE=true,  RV "0"  Initial, RVAny, EndBookmark if allowed
//	SIE=true,  RV n    Initial, RVNotOlderThan n, EndBookmark if allowed
//	SIE unset, RV ""   Initial, RVConsistent, BestEffort
//	SIE unset, RV "0"  Initial, RVAny
//	SIE=false, RV ""   RVConsistent: events after etcd's current revision
//	SIE=false, RV "0"  RVAny: events after the storage's current revision
//	otherwise, RV n    RVExact n: every event after n
type WatchStart struct {
	// Initial: ADDED events for the state RV selects come first, then the
	// events after that state.
	Initial bool
	// RV selects the initial state, or (without Initial) the revision the
	// events follow.
	RV RVRequest
	// BestEffort: an Initial RVConsistent state may be served as the
	// storage has it when freshness cannot be had in time (kube-apiserver's
	// watch without sendInitialEvents).
	BestEffort bool
	// EndBookmark: the initial events end with the bookmark annotated
	// k8s.io/initial-events-end.
	EndBookmark bool
}

// Parse validates the options (see Validate) and returns where the watch
// starts.
func (o WatchOptions) Parse() (WatchStart, error) {
	rv, err := parseRV(o.ResourceVersion)
	if err != nil {
		return WatchStart{}, err
	}
	if err := o.checkCombination(); err != nil {
		return WatchStart{}, err
	}
	st := WatchStart{Initial: o.InitialEvents(), RV: rv}
	switch {
	case o.SendInitialEvents != nil:
		st.EndBookmark = st.Initial && o.AllowWatchBookmarks
	case rv.Kind == RVConsistent:
		st.BestEffort = true
	}
	if !st.Initial && rv.Kind == RVNotOlderThan {
		st.RV.Kind = RVExact
	}
	return st, nil
}

// checkCombination checks sendInitialEvents against resourceVersionMatch.
func (o WatchOptions) checkCombination() error {
	if o.SendInitialEvents != nil {
		if o.ResourceVersionMatch != MatchNotOlderThan {
			return ForbiddenField("resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
		}
		return nil
	}
	switch o.ResourceVersionMatch {
	case MatchNone:
		return nil
	case MatchNotOlderThan, MatchExact:
		return ForbiddenField("resourceVersionMatch", "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided")
	default:
		return unsupported("resourceVersionMatch", o.ResourceVersionMatch, MatchNotOlderThan)
	}
}

// InitialEvents reports whether the watch starts with synthetic ADDED
// events for the current state: SIE=true, or SIE unset with RV "" or "0"
// (B30, B33, B34).
func (o WatchOptions) InitialEvents() bool {
	if o.SendInitialEvents != nil {
		return *o.SendInitialEvents
	}
	return o.ResourceVersion == "" || o.ResourceVersion == "0"
}

// Preconditions of an update or delete; nil fields are not checked.
type Preconditions struct {
	UID             *string
	ResourceVersion *string
}

func unsupported(field, value string, supported ...string) *Error {
	list := ""
	for i, s := range supported {
		if i > 0 {
			list += ", "
		}
		list += fmt.Sprintf("%q", s)
	}
	return &Error{
		Err:     ErrInvalid,
		Field:   field,
		Message: fmt.Sprintf("%s: Unsupported value: %q: supported values: %s", field, value, list),
	}
}
