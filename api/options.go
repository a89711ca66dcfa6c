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
	if o.ResourceVersion != "" {
		if _, err := ParseRV("resourceVersion", o.ResourceVersion); err != nil {
			return err
		}
	}
	return nil
}

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
	if o.Limit < 0 {
		return BadParam("limit", "invalid limit: %d must not be negative", o.Limit)
	}
	if o.ResourceVersion != "" {
		if _, err := ParseRV("resourceVersion", o.ResourceVersion); err != nil {
			return err
		}
	}
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
	if o.ResourceVersion != "" {
		if _, err := ParseRV("resourceVersion", o.ResourceVersion); err != nil {
			return err
		}
	}
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
