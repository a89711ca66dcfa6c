package api

import (
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
