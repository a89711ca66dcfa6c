// Package docs holds watchcached's documentation as Markdown files. Its only
// Go code is a test that keeps behaviours.md, the catalogue of behaviours,
// in step with the repository: every test the catalogue names exists, every
// behaviour id used anywhere has a row, and every test named after an id is
// listed in that id's row.
package docs
