package jsonscan

import "errors"

// Compact appends src without insignificant whitespace to dst, and fails
// unless src is exactly one valid JSON value (RFC 8259 grammar, as
// encoding/json.Valid accepts it). On failure it returns dst unchanged in
// length (bytes past it may have been written) and one of three errors:
// "invalid JSON", "data after the JSON value" or "JSON nested too deeply".
func Compact(dst, src []byte) ([]byte, error) {
	c := compactor{src: src, dst: dst}
	c.space()
	if err := c.value(0); err != nil {
		return dst, err
	}
	c.space()
	if c.i != len(src) {
		return dst, errors.New("data after the JSON value")
	}
	return c.dst, nil
}

// maxDepth is how deeply values may nest (encoding/json's limit).
const maxDepth = 10000

var errSyntax = errors.New("invalid JSON")

// compactor is the state of one Compact call: src is read from i on, and
// what was read is appended to dst without whitespace.
type compactor struct {
	src, dst []byte
	i        int
}

func (c *compactor) space() {
	for c.i < len(c.src) {
		switch c.src[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

// expect consumes byte b (after optional space) and copies it.
func (c *compactor) expect(b byte) bool {
	c.space()
	if c.i < len(c.src) && c.src[c.i] == b {
		c.dst = append(c.dst, b)
		c.i++
		return true
	}
	return false
}

func (c *compactor) value(depth int) error {
	if depth > maxDepth {
		return errors.New("JSON nested too deeply")
	}
	if c.i >= len(c.src) {
		return errSyntax
	}
	switch b := c.src[c.i]; b {
	case '{', '[':
		return c.container(b, depth)
	case '"':
		return c.str()
	case 't':
		return c.literal("true")
	case 'f':
		return c.literal("false")
	case 'n':
		return c.literal("null")
	default:
		return c.number()
	}
}

// container copies an object or array starting at c.src[c.i].
func (c *compactor) container(open byte, depth int) error {
	end := byte(']')
	if open == '{' {
		end = '}'
	}
	c.dst = append(c.dst, open)
	c.i++
	if c.expect(end) {
		return nil
	}
	for {
		c.space()
		if open == '{' {
			if c.i >= len(c.src) || c.src[c.i] != '"' {
				return errSyntax
			}
			if err := c.str(); err != nil {
				return err
			}
			if !c.expect(':') {
				return errSyntax
			}
			c.space()
		}
		if err := c.value(depth + 1); err != nil {
			return err
		}
		if c.expect(end) {
			return nil
		}
		if !c.expect(',') {
			return errSyntax
		}
	}
}

// str copies a string starting at c.src[c.i]=='"'.
func (c *compactor) str() error {
	s, i := c.src, c.i+1
	for i < len(s) {
		switch b := s[i]; {
		case b == '"':
			c.dst = append(c.dst, s[c.i:i+1]...)
			c.i = i + 1
			return nil
		case b < 0x20:
			return errSyntax
		case b == '\\':
			if i+1 >= len(s) {
				return errSyntax
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) || !isHex4(s[i+2:i+6]) {
					return errSyntax
				}
				i += 6
			default:
				return errSyntax
			}
		default:
			i++
		}
	}
	return errSyntax
}

func isHex4(b []byte) bool {
	for _, x := range b {
		if !('0' <= x && x <= '9' || 'a' <= x && x <= 'f' || 'A' <= x && x <= 'F') {
			return false
		}
	}
	return true
}

func (c *compactor) literal(lit string) error {
	if len(c.src)-c.i < len(lit) || string(c.src[c.i:c.i+len(lit)]) != lit {
		return errSyntax
	}
	c.dst = append(c.dst, lit...)
	c.i += len(lit)
	return nil
}

// number copies -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (c *compactor) number() error {
	s, i := c.src, c.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(s, i)
	default:
		return errSyntax
	}
	if i < len(s) && s[i] == '.' {
		if j := digits(s, i+1); j > i+1 {
			i = j
		} else {
			return errSyntax
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(s, i)
		if j == i {
			return errSyntax
		}
		i = j
	}
	c.dst = append(c.dst, s[c.i:i]...)
	c.i = i
	return nil
}

func digits(s []byte, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}
