package trace

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Writer writes a trace: the header first, then ops in time order. Not
// safe for concurrent use. Close flushes; it does not close the
// underlying writer.
type Writer struct {
	w      *bufio.Writer
	h      Header
	n      int
	lastAt int64
}

// NewWriter validates h and writes it. h.Ops must be the number of ops
// the caller will write (Close checks).
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	if h.Format == "" {
		h.Format = Format
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	tw := &Writer{w: bufio.NewWriterSize(w, 1<<16), h: h}
	if err := tw.line(&h); err != nil {
		return nil, err
	}
	return tw, nil
}

// Write appends one op.
func (tw *Writer) Write(o *Op) error {
	if err := tw.h.validateOp(o); err != nil {
		return err
	}
	if o.At < tw.lastAt {
		return fmt.Errorf("trace: op %d at %dµs goes back in time (previous %dµs)", tw.n, o.At, tw.lastAt)
	}
	if len(o.Body) > 0 {
		b, err := compactBody(o.Body)
		if err != nil {
			return fmt.Errorf("trace: op %d body: %w", tw.n, err)
		}
		c := *o
		c.Body = b
		o = &c
	}
	tw.lastAt = o.At
	tw.n++
	return tw.line(o)
}

// Close flushes and checks the op count against the header.
func (tw *Writer) Close() error {
	if err := tw.w.Flush(); err != nil {
		return err
	}
	if tw.n != tw.h.Ops {
		return fmt.Errorf("trace: wrote %d ops, header announced %d", tw.n, tw.h.Ops)
	}
	return nil
}

func (tw *Writer) line(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = tw.w.Write(b)
	return err
}

// Reader reads a trace. Not safe for concurrent use.
type Reader struct {
	sc     *bufio.Scanner
	header Header
	n      int
	lastAt int64
}

// NewReader reads and validates the header.
func NewReader(r io.Reader) (*Reader, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 64<<20)
	tr := &Reader{sc: sc}
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("trace: empty input, no header")
	}
	if err := json.Unmarshal(sc.Bytes(), &tr.header); err != nil {
		return nil, fmt.Errorf("trace: header: %w", err)
	}
	if err := tr.header.Validate(); err != nil {
		return nil, err
	}
	return tr, nil
}

// Header is the trace's header.
func (tr *Reader) Header() *Header { return &tr.header }

// Next returns the next op, or io.EOF after the last one (having checked
// the count the header announced).
func (tr *Reader) Next() (*Op, error) {
	if !tr.sc.Scan() {
		if err := tr.sc.Err(); err != nil {
			return nil, err
		}
		if tr.n != tr.header.Ops {
			return nil, fmt.Errorf("trace: %d ops, header announced %d", tr.n, tr.header.Ops)
		}
		return nil, io.EOF
	}
	var o Op
	if err := json.Unmarshal(tr.sc.Bytes(), &o); err != nil {
		return nil, fmt.Errorf("trace: op %d: %w", tr.n, err)
	}
	if err := tr.header.validateOp(&o); err != nil {
		return nil, fmt.Errorf("op %d: %w", tr.n, err)
	}
	if o.At < tr.lastAt {
		return nil, fmt.Errorf("trace: op %d goes back in time", tr.n)
	}
	tr.lastAt = o.At
	tr.n++
	return &o, nil
}

// ReadAll reads a whole trace into memory.
func ReadAll(r io.Reader) (*Header, []*Op, error) {
	tr, err := NewReader(r)
	if err != nil {
		return nil, nil, err
	}
	ops := make([]*Op, 0, tr.header.Ops)
	for {
		o, err := tr.Next()
		if err == io.EOF {
			return tr.Header(), ops, nil
		}
		if err != nil {
			return nil, nil, err
		}
		ops = append(ops, o)
	}
}
