package api

// Messages that more than one package (or frontend) gives: each is built
// here once, worded as kube-apiserver words it, with the field it names.
// The server maps them by their sentinel in its one status table.

// ObjectNotFound is ErrNotFound for the object name of r:
// `pods "web" not found`.
func ObjectNotFound(r *Resource, name string) *Error {
	return Errorf(ErrNotFound, "%s %q not found", r.GroupResource(), name)
}

// NameMismatch is ErrBadRequest for a body whose metadata.name (got)
// differs from the name on the request (want).
func NameMismatch(got, want string) *Error {
	return BadParam("metadata.name", "the name of the object (%s) does not match the name on the URL (%s)", got, want)
}

// NamespaceMismatch is ErrBadRequest for a body whose metadata.namespace
// differs from the namespace of the request.
func NamespaceMismatch() *Error {
	return BadParam("metadata.namespace", "the namespace of the provided object does not match the namespace sent on the request")
}

// APIVersionMismatch is ErrBadRequest for a body whose apiVersion (got, as
// decoded) is not the resource's (want).
func APIVersionMismatch(got any, want string) *Error {
	return BadParam("apiVersion", "the API version in the data (%v) does not match the expected API version (%s)", got, want)
}

// KindMismatch is ErrBadRequest for a body whose kind (got, as decoded) is
// not the resource's (want).
func KindMismatch(got any, want string) *Error {
	return BadParam("kind", "the kind in the data (%v) does not match the expected kind (%s)", got, want)
}

// NegativeParam is ErrBadRequest for a numeric parameter below zero.
func NegativeParam(param string, n int64) *Error {
	return BadParam(param, "invalid %s: %d must not be negative", param, n)
}
