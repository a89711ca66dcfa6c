package api

import (
	"fmt"
	"strconv"
)

// ParseRV parses a resourceVersion given as a decimal string. The empty
// string is not accepted here: callers distinguish "" (consistent read)
// before parsing. param names the parameter in the error, which wraps
// ErrBadRequest.
func ParseRV(param, s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || (len(s) > 1 && s[0] == '0') || v > maxRV {
		return 0, BadParam(param, "invalid %s: %q is not a non-negative integer", param, s)
	}
	return v, nil
}

// maxRV is the largest revision etcd can hand out (int64).
const maxRV = 1<<63 - 1

// FormatRV formats a resourceVersion as served.
func FormatRV(rv uint64) string { return strconv.FormatUint(rv, 10) }

// RVKind is what a resourceVersion asks of a read, once its options are
// parsed. Storages switch on it instead of on the option strings.
type RVKind uint8

const (
	// RVConsistent (resourceVersion unset): the state etcd has committed
	// now, as a quorum read would see it.
	RVConsistent RVKind = iota
	// RVAny ("0"): whatever state the storage holds now, however old.
	RVAny
	// RVNotOlderThan (n): a state at least as new as n.
	RVNotOlderThan
	// RVExact (n): the state exactly at n (a list with
	// resourceVersionMatch=Exact, or with a limit and no match); for a
	// watch without initial events, every event after n.
	RVExact
)

// RVRequest is a parsed resourceVersion: its kind and, for RVNotOlderThan
// and RVExact, the revision N. A plain value.
type RVRequest struct {
	Kind RVKind
	N    uint64
}

// parseRV turns a resourceVersion string into the request of a read: ""
// is RVConsistent, "0" RVAny, n RVNotOlderThan n (callers refine it).
func parseRV(s string) (RVRequest, error) {
	switch s {
	case "":
		return RVRequest{Kind: RVConsistent}, nil
	case "0":
		return RVRequest{Kind: RVAny}, nil
	}
	n, err := ParseRV("resourceVersion", s)
	if err != nil {
		return RVRequest{}, err
	}
	return RVRequest{Kind: RVNotOlderThan, N: n}, nil
}

// TooOldRV is the 410 Expired of a read or watch from rv when what it needs
// is gone; oldest is the oldest RV still served (kube-apiserver's
// "too old resource version" message).
func TooOldRV(rv, oldest uint64) *Error {
	return Errorf(ErrExpired, "too old resource version: %d (%d)", rv, oldest)
}

// TooLargeRV is the 504 of a read that asked for a state not older than
// want while the storage holds have, after waiting for it: client-go retries
// it (cause ResourceVersionTooLarge, Retry-After 1 s).
func TooLargeRV(want, have uint64) *Error {
	return &Error{
		Err:               ErrTooLargeRV,
		Message:           fmt.Sprintf("Too large resource version: %d, current: %d", want, have),
		Cause:             "ResourceVersionTooLarge",
		RetryAfterSeconds: 1,
	}
}
