// Package table is watchcached's server-side printing (B224-B227): the
// meta.k8s.io Table a client gets when it asks for one (kubectl get sends
// Accept: application/json;as=Table;v=v1;g=meta.k8s.io), with
// kube-apiserver's columns and cells for the common built-in kinds, a
// resource's configured printerColumns (JSONPath, as a CRD's
// additionalPrinterColumns) or kube-apiserver's default NAME and AGE.
//
// A row is computed once per object and kept as a template beside the
// object for as long as the object lives (cache.go): the time-dependent
// cells (ages, "5 (3m ago)") are rendered at each request from the
// template, everything else is already encoded. A Table of a large list
// therefore costs one pass over the rows' bytes, not a decode of every
// object. Everything in the package is safe for concurrent use.
package table
