package api

import (
	"context"
	"sync"
)

// WriteOptions are the options of one write that are not part of its body
// (kube-apiserver's CreateOptions, UpdateOptions, PatchOptions and the
// dryRun of DeleteOptions). They travel in the write's context, as the
// request's identity does in kube-apiserver, so that every Storage
// (etcdstore directly, or through the cache) sees them without its
// methods growing parameters. A plain value.
type WriteOptions struct {
	// DryRun asks for the write to be checked and answered as it would
	// be, with nothing stored (dryRun=All, B211).
	DryRun bool
	// FieldManager is the manager the write is recorded under in
	// metadata.managedFields: the request's fieldManager, or else the
	// prefix of its user agent (B210).
	FieldManager string
	// Force makes a server-side apply take over the fields other managers
	// own instead of failing with a conflict (B210).
	Force bool
	// FieldValidation is Strict, Warn or Ignore for unknown and duplicate
	// fields (B212); "" is Warn.
	FieldValidation string
}

// The values of fieldValidation.
const (
	FieldValidationStrict = "Strict"
	FieldValidationWarn   = "Warn"
	FieldValidationIgnore = "Ignore"
)

type writeOptionsKey struct{}

// WithWriteOptions returns ctx carrying o for the writes made with it.
func WithWriteOptions(ctx context.Context, o WriteOptions) context.Context {
	return context.WithValue(ctx, writeOptionsKey{}, o)
}

// WriteOptionsFrom returns the options ctx carries; the zero value (a
// real write, no manager, Warn) when it carries none.
func WriteOptionsFrom(ctx context.Context) WriteOptions {
	o, _ := ctx.Value(writeOptionsKey{}).(WriteOptions)
	return o
}

// Report collects what a write tells its client besides the object:
// the warnings it earns (kube-apiserver's Warning response headers, e.g.
// unknown fields under fieldValidation=Warn) and whether a patch created
// the object (a server-side apply of an absent object answers 201). Safe
// for concurrent use.
type Report struct {
	mu       sync.Mutex
	warnings []string // lock: mu; in order, without duplicates
	created  bool     // lock: mu
}

type reportKey struct{}

// WithReport returns ctx with a new Report and that Report.
func WithReport(ctx context.Context) (context.Context, *Report) {
	r := &Report{}
	return context.WithValue(ctx, reportKey{}, r), r
}

func reportFrom(ctx context.Context) *Report {
	r, _ := ctx.Value(reportKey{}).(*Report)
	return r
}

// AddWarning records msg in ctx's Report, once; without a Report the
// warning is dropped.
func AddWarning(ctx context.Context, msg string) {
	r := reportFrom(ctx)
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.warnings {
		if m == msg {
			return
		}
	}
	r.warnings = append(r.warnings, msg)
}

// ReportCreated records in ctx's Report that the write created the
// object.
func ReportCreated(ctx context.Context) {
	if r := reportFrom(ctx); r != nil {
		r.mu.Lock()
		r.created = true
		r.mu.Unlock()
	}
}

// Warnings returns the warnings recorded so far, in order.
func (r *Report) Warnings() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.warnings...)
}

// Created reports whether the write created its object.
func (r *Report) Created() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.created
}
