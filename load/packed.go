package load

import "encoding/binary"

// packedReader reads what the job packs into strings of its state tables
// (health_days_state's steps, the change tails): uvarints, their zig-zag
// varints and bytes. The first error sticks, so a decoder checks err once
// per item or at the end; bad is the error a corrupt value gives.
type packedReader struct {
	b   string
	pos int
	err error
	bad error
}

// fail records the corrupt value and leaves nothing more to read.
func (r *packedReader) fail() {
	if r.err == nil {
		r.err = r.bad
	}
	r.pos = len(r.b)
}

// left is the number of bytes not read yet.
func (r *packedReader) left() int { return len(r.b) - r.pos }

func (r *packedReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, k := binary.Uvarint([]byte(r.b[r.pos:min(len(r.b), r.pos+binary.MaxVarintLen64)]))
	if k <= 0 {
		r.fail()
		return 0
	}
	r.pos += k
	return v
}

// varint is binary.Varint's zig-zag decoding of a uvarint.
func (r *packedReader) varint() int64 {
	u := r.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (r *packedReader) byte() byte {
	if r.err != nil || r.pos >= len(r.b) {
		r.fail()
		return 0
	}
	r.pos++
	return r.b[r.pos-1]
}
