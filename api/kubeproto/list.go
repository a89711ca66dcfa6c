package kubeproto

import (
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// A list is written in one pass once the sizes of its items are known:
// ListHead (magic, envelope, the <Kind>List's metadata), then for each
// item ItemHead and the item's protobuf, then EnvelopeTail. Its length is
// ListLen.

// ListMeta is what a list's metadata says.
type ListMeta struct {
	ResourceVersion    uint64
	Continue           string
	RemainingItemCount *int64 // nil: not set
}

// ItemLen is what an item of n bytes adds to a list.
func ItemLen(n int) int { return 1 + protowire.SizeVarint(uint64(n)) + n }

// AppendItemHead appends the field header of an item of n bytes.
func AppendItemHead(b []byte, n int) []byte {
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(n))
}

// AppendListHead appends a list's bytes up to its first item; itemsLen is
// the sum of ItemLen over its items.
func AppendListHead(b []byte, apiVersion, listKind string, m ListMeta, itemsLen int) []byte {
	lm := listMetaLen(m)
	b = AppendEnvelopeHead(b, apiVersion, listKind, listRawLen(lm, itemsLen))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(lm))
	b = appendString(b, 1, "") // selfLink, always written
	b = appendString(b, 2, strconv.FormatUint(m.ResourceVersion, 10))
	b = appendString(b, 3, m.Continue)
	if m.RemainingItemCount != nil {
		b = protowire.AppendTag(b, 4, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(*m.RemainingItemCount))
	}
	return b
}

// ListLen is the size of the whole list document.
func ListLen(apiVersion, listKind string, m ListMeta, itemsLen int) int {
	return EnvelopeLen(apiVersion, listKind, listRawLen(listMetaLen(m), itemsLen))
}

func listRawLen(listMetaLen, itemsLen int) int {
	return 1 + protowire.SizeVarint(uint64(listMetaLen)) + listMetaLen + itemsLen
}

func listMetaLen(m ListMeta) int {
	n := stringLen("") + stringLen(strconv.FormatUint(m.ResourceVersion, 10)) + stringLen(m.Continue)
	if m.RemainingItemCount != nil {
		n += 1 + protowire.SizeVarint(uint64(*m.RemainingItemCount))
	}
	return n
}
