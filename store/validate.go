package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
)

// A bbolt file is checked by reading it ourselves (from a read-only
// mapping, see checkMapped) because bbolt trusts its pages: on damaged
// ones it panics, faults (SIGBUS past the end of a truncated file) or, in
// tx.Check, allocates without bound and spins on goroutines whose panics
// cannot be recovered. The checks follow bbolt's file format
// (go.etcd.io/bbolt/internal/common).
//
// There are two depths. The quick check is what Open does before bbolt
// maps a file: its cost grows with the number of branch pages (well under
// 1 % of a large file), not with the file. The full check reads every
// branch and leaf page and accounts for every page; Verify runs it on a
// file at rest, and Open on a goroutine after opening (see verifyLive).

// checkDepth says how much of a file a check reads.
type checkDepth int

const (
	// quickCheck: both meta pages (magic, version, checksum; bbolt uses
	// the valid one with the higher transaction ID), the page size, the
	// high-water mark against the file size (a truncated file is
	// refused), the freelist and every page ID it names, the root bucket
	// (the top-level buckets' headers) and, of every bucket, its root,
	// all its branch pages (so that every descent bbolt makes stays
	// inside the file) and its first and last leaf (what a cursor's First
	// and Last read: the scheduler's next deadline, the outbox head).
	// Other leaves are only checked to lie inside the file, once.
	quickCheck checkDepth = iota
	// fullCheck: also every leaf page (element and key bounds, key
	// order, sub-buckets), and every page accounted for exactly once as
	// in use or free. Values are not parsed; mail bodies, most of the
	// file, sit in overflow pages of which only the bounds are checked.
	fullCheck
)

// fileStats describes a checked file.
type fileStats struct {
	pageSize   uint64
	pages      uint64 // high-water mark: pages [0, pages) are in use or free
	free       uint64 // pages the freelist names
	read       uint64 // pages read by the check
	txid       uint64 // transaction of the meta page used
	validMetas int    // 1: one meta page is damaged (bbolt uses the other)
}

// errStopped ends a check that its caller no longer wants.
var errStopped = errors.New("check stopped")

// validateFile runs the full check on a file at rest.
func validateFile(src source, size int64) error {
	_, err := checkFile(src, size, fullCheck, nil)
	return err
}

// checkFile checks the file in src of size bytes to depth. stop, when
// not nil, is polled now and then; when it returns true the check ends
// with errStopped.
func checkFile(src source, size int64, depth checkDepth, stop func() bool) (fileStats, error) {
	m, valid, err := chooseMeta(src, size)
	if err != nil {
		return fileStats{}, err
	}
	st, err := checkFrom(src, size, m, depth, stop)
	st.validMetas = valid
	return st, err
}

// checkFrom checks the page tree of meta m (chosen by chooseMeta) in
// src. The pages it reaches must not change during the check: a file at
// rest under a lock, or a live file whose transaction m a bbolt read
// transaction keeps (see verifyLive).
func checkFrom(src source, size int64, m boltMeta, depth checkDepth, stop func() bool) (fileStats, error) {
	ps := m.pageSize
	st := fileStats{pageSize: ps, pages: m.pgid, txid: m.txid}
	if ps < 1024 || ps > 1<<24 || ps&(ps-1) != 0 {
		return st, fmt.Errorf("meta page gives page size %d", ps)
	}
	pages := uint64(size) / ps
	switch {
	case pages < 2:
		return st, fmt.Errorf("file is truncated: %d bytes, shorter than its two meta pages", size)
	case m.pgid > pages:
		return st, fmt.Errorf("file is truncated: %d bytes, its meta page says %d", size, m.pgid*ps)
	case m.root < 2 || m.root >= m.pgid:
		return st, fmt.Errorf("root page %d outside the file's %d pages", m.root, m.pgid)
	case m.freelist == noFreelist:
		// bbolt would rebuild the freelist by walking the tree on a
		// goroutine whose panics cannot be recovered; helpdeskd always
		// writes the freelist.
		return st, errors.New("file has no freelist (not written by helpdeskd)")
	case m.freelist < 2 || m.freelist >= m.pgid:
		return st, fmt.Errorf("freelist page %d outside the file's %d pages", m.freelist, m.pgid)
	}
	c := &fileCheck{src: src, ps: ps, pgid: m.pgid, depth: depth, stop: stop, used: make([]uint64, (m.pgid+63)/64)}
	c.used[0] |= 0b11 // the meta pages
	err := c.freelist(m.freelist)
	if err == nil {
		// The root bucket holds the top-level buckets' headers: always
		// read whole.
		err = c.tree(m.root, 0)
	}
	st.free, st.read = c.free, c.read
	if err != nil {
		return st, err
	}
	if depth == fullCheck {
		for id := uint64(2); id < m.pgid; id++ {
			if !c.isUsed(id) {
				return st, fmt.Errorf("page %d is neither in use nor free", id)
			}
		}
	}
	return st, nil
}

// source gives validateFile the file's bytes: n bytes at off, or an error
// if they are not all in the file. The bytes must stay valid (and
// unchanged) for the whole check.
type source interface {
	slice(off int64, n uint64) ([]byte, error)
}

// mapped is a file mapped read-only into memory: no copies, no syscalls.
type mapped []byte

func (m mapped) slice(off int64, n uint64) ([]byte, error) {
	if off < 0 || uint64(off) > uint64(len(m)) || n > uint64(len(m))-uint64(off) {
		return nil, fmt.Errorf("%d bytes at offset %d are beyond the end of the file", n, off)
	}
	return m[off : uint64(off)+n], nil
}

// readerSource reads each slice with ReadAt, where mapping is not possible.
type readerSource struct{ r io.ReaderAt }

func (s readerSource) slice(off int64, n uint64) ([]byte, error) {
	if n > 1<<31 {
		return nil, fmt.Errorf("%d bytes at offset %d: implausibly large", n, off)
	}
	buf := make([]byte, n)
	if _, err := s.r.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("%d bytes at offset %d: %w", n, off, err)
	}
	return buf, nil
}

// inlineSource backs an inline page, which page.first already holds whole.
type inlineSource struct{}

func (inlineSource) slice(off int64, n uint64) ([]byte, error) {
	return nil, fmt.Errorf("%d bytes at offset %d overrun an inline page", n, off)
}

// bbolt format constants.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	pageHeaderSize   = 16 // id u64, flags u16, count u16, overflow u32
	elementSize      = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	bucketHeaderSize = 16 // root pgid u64, sequence u64; an inline page follows if root is 0
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	metaPageFlag     = 0x04
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01
	noFreelist       = ^uint64(0)
	metaSumLen       = 56 // Meta fields before its checksum

	maxTreeDepth   = 32 // a B+tree of 4 KiB pages never gets near this
	maxBucketDepth = 4  // helpdeskd nests one level (meta/cases)
)

// bbolt writes its structs in memory order.
var ne = binary.NativeEndian

// boltMeta is the part of a meta page validateFile needs.
type boltMeta struct {
	pageSize uint64
	root     uint64
	freelist uint64
	pgid     uint64 // high-water mark: pages [0, pgid) are in use or free
	txid     uint64
}

// readMeta parses the meta page at off; ok is false unless it is a valid,
// checksummed meta page.
func readMeta(src source, off int64) (boltMeta, bool) {
	buf, err := src.slice(off, pageHeaderSize+metaSumLen+8)
	if err != nil {
		return boltMeta{}, false
	}
	if ne.Uint16(buf[8:]) != metaPageFlag {
		return boltMeta{}, false
	}
	m := buf[pageHeaderSize:]
	if ne.Uint32(m[0:]) != boltMagic || ne.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:metaSumLen])
	if h.Sum64() != ne.Uint64(m[metaSumLen:]) {
		return boltMeta{}, false
	}
	return boltMeta{
		pageSize: uint64(ne.Uint32(m[8:])),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		pgid:     ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}, true
}

// chooseMeta finds the meta page bbolt will use: the valid one with the
// higher transaction ID. Like bbolt, it finds the second meta page at
// offset pageSize, probing page sizes when the first page is unreadable.
// valid counts the valid meta pages: with one damaged (a torn write in a
// crash), bbolt opens the file as of the other.
func chooseMeta(src source, size int64) (m boltMeta, valid int, err error) {
	m0, ok0 := readMeta(src, 0)
	var m1 boltMeta
	var ok1 bool
	if ok0 {
		m1, ok1 = readMeta(src, int64(m0.pageSize))
	} else {
		for ps := int64(1024); ps <= 1<<24 && ps < size; ps *= 2 {
			if m1, ok1 = readMeta(src, ps); ok1 && int64(m1.pageSize) == ps {
				break
			}
			ok1 = false
		}
	}
	switch {
	case ok0 && ok1 && m1.txid > m0.txid:
		return m1, 2, nil
	case ok0 && ok1:
		return m0, 2, nil
	case ok1:
		return m1, 1, nil
	case ok0:
		return m0, 1, nil
	}
	return boltMeta{}, 0, errors.New("no valid bbolt meta page (not a bbolt file, or both meta pages damaged)")
}

// fileCheck walks one file. used has a bit per page below the high-water
// mark: set once the page is accounted for.
type fileCheck struct {
	src   source
	ps    uint64
	pgid  uint64
	depth checkDepth
	stop  func() bool
	used  []uint64
	read  uint64 // pages read
	free  uint64 // pages on the freelist
}

// stopEvery is how many pages a check reads between polls of stop.
const stopEvery = 1024

func (c *fileCheck) isUsed(id uint64) bool { return c.used[id/64]&(1<<(id%64)) != 0 }

// mark accounts for page id and its overflow pages.
func (c *fileCheck) mark(id, overflow uint64) error {
	if id >= c.pgid || overflow >= c.pgid-id {
		return fmt.Errorf("page %d (+%d overflow) is outside the file's %d pages", id, overflow, c.pgid)
	}
	for p := id; p <= id+overflow; p++ {
		if c.isUsed(p) {
			return fmt.Errorf("page %d is used twice", p)
		}
		c.used[p/64] |= 1 << (p % 64)
	}
	return nil
}

// page is one page run: its first page at hand, the rest (overflow)
// fetched on demand. An inline page (in a bucket value) is all in first.
type page struct {
	src      source
	off      int64 // file offset of the page
	first    []byte
	size     uint64 // bytes of the run, overflow included
	flags    uint16
	count    uint64
	overflow uint64
}

func (c *fileCheck) readPage(id uint64) (*page, error) {
	if id >= c.pgid {
		return nil, fmt.Errorf("page %d is outside the file's %d pages", id, c.pgid)
	}
	if c.read++; c.stop != nil && c.read%stopEvery == 1 && c.stop() {
		return nil, errStopped
	}
	off := int64(id * c.ps)
	buf, err := c.src.slice(off, c.ps)
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	if got := ne.Uint64(buf); got != id {
		return nil, fmt.Errorf("page %d: identifies itself as page %d", id, got)
	}
	p := &page{src: c.src, off: off, first: buf, flags: ne.Uint16(buf[8:]),
		count: uint64(ne.Uint16(buf[10:])), overflow: uint64(ne.Uint32(buf[12:]))}
	if err := c.mark(id, p.overflow); err != nil {
		return nil, err
	}
	p.size = (1 + p.overflow) * c.ps
	return p, nil
}

// inBounds checks that n bytes at offset off lie within the page run.
func (p *page) inBounds(off, n uint64) error {
	if off > p.size || n > p.size-off {
		return fmt.Errorf("%d bytes at offset %d overrun a %d-byte page", n, off, p.size)
	}
	return nil
}

// bytes returns n bytes at offset off of the page run.
func (p *page) bytes(off, n uint64) ([]byte, error) {
	if err := p.inBounds(off, n); err != nil {
		return nil, err
	}
	if off+n <= uint64(len(p.first)) {
		return p.first[off : off+n], nil
	}
	return p.src.slice(p.off+int64(off), n)
}

// walk is the state of one bucket's tree walk.
type walk struct {
	bucketDepth int
	last        []byte // the previous key of the bucket in order, across leaves
	// skim: a quick check of a bucket below the root bucket, which reads
	// branch pages but only the first and last leaf.
	skim bool
	// leafDepth is the depth of the first leaf found (-1: none yet). In
	// a sound bbolt tree every leaf is that deep, which lets a skim tell
	// a leaf from a branch page without reading it.
	leafDepth int
}

// tree checks the bucket whose root page is id.
func (c *fileCheck) tree(id uint64, bucketDepth int) error {
	if bucketDepth > maxBucketDepth {
		return errors.New("buckets nested deeper than helpdeskd writes them")
	}
	w := &walk{bucketDepth: bucketDepth, skim: c.depth == quickCheck && bucketDepth > 0, leafDepth: -1}
	return c.node(id, 0, true, true, w)
}

// node checks a branch or leaf page and what hangs below it. first and
// last say whether the page is on the bucket's leftmost or rightmost path.
func (c *fileCheck) node(id uint64, depth int, first, last bool, w *walk) error {
	if depth > maxTreeDepth {
		return fmt.Errorf("page %d: tree deeper than %d", id, maxTreeDepth)
	}
	if w.skim && depth == w.leafDepth && !first && !last {
		// A leaf a quick check does not read: it is only counted, so
		// that it lies inside the file and is not also free or another
		// page's child. (Its overflow pages are not known.)
		return c.mark(id, 0)
	}
	p, err := c.readPage(id)
	if err != nil {
		return err
	}
	switch p.flags {
	case branchPageFlag:
		if p.count == 0 {
			return fmt.Errorf("page %d: empty branch page", id)
		}
		var prev []byte
		for i := range p.count {
			e, err := p.bytes(pageHeaderSize+i*elementSize, elementSize)
			if err != nil {
				return fmt.Errorf("page %d element %d: %w", id, i, err)
			}
			pos, ksize := uint64(ne.Uint32(e[0:])), uint64(ne.Uint32(e[4:]))
			k, err := p.bytes(pageHeaderSize+i*elementSize+pos, ksize)
			if err != nil {
				return fmt.Errorf("page %d key %d: %w", id, i, err)
			}
			if prev != nil && bytes.Compare(prev, k) >= 0 {
				return fmt.Errorf("page %d: keys out of order at %d", id, i)
			}
			prev = k // sources keep their bytes for the whole check
			if err := c.node(ne.Uint64(e[8:]), depth+1, first && i == 0, last && i == p.count-1, w); err != nil {
				return err
			}
		}
		return nil
	case leafPageFlag:
		if w.leafDepth < 0 {
			w.leafDepth = depth
		}
		return c.leaf(p, where{page: id}, w.bucketDepth, &w.last)
	default:
		return fmt.Errorf("page %d: flags %#x, want a branch or leaf page", id, p.flags)
	}
}

// where names a leaf in errors: a page, or a sub-bucket's inline page. It
// is formatted only for an error: the full check meets hundreds of
// thousands of leaves.
type where struct {
	page   uint64
	bucket string // "page 7 bucket \"cases\"" for an inline page
}

func (w where) String() string {
	if w.bucket != "" {
		return w.bucket
	}
	return fmt.Sprintf("page %d", w.page)
}

// leaf checks the elements of a leaf page (a real one or an inline one).
func (c *fileCheck) leaf(p *page, name where, bucketDepth int, last *[]byte) error {
	for i := range p.count {
		off := pageHeaderSize + i*elementSize
		e, err := p.bytes(off, elementSize)
		if err != nil {
			return fmt.Errorf("%s element %d: %w", name, i, err)
		}
		flags, pos := ne.Uint32(e[0:]), uint64(ne.Uint32(e[4:]))
		ksize, vsize := uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
		k, err := p.bytes(off+pos, ksize)
		if err != nil {
			return fmt.Errorf("%s key %d: %w", name, i, err)
		}
		if ksize == 0 || (*last != nil && bytes.Compare(*last, k) >= 0) {
			return fmt.Errorf("%s: keys out of order at %d", name, i)
		}
		*last = k
		if flags&bucketLeafFlag == 0 {
			// Only the bounds of a value are checked, not its bytes.
			if err := p.inBounds(off+pos+ksize, vsize); err != nil {
				return fmt.Errorf("%s value %d: %w", name, i, err)
			}
			continue
		}
		v, err := p.bytes(off+pos+ksize, vsize)
		if err != nil {
			return fmt.Errorf("%s bucket %q: %w", name, k, err)
		}
		if err := c.bucketValue(v, where{bucket: fmt.Sprintf("%s bucket %q", name, k)}, bucketDepth+1); err != nil {
			return err
		}
	}
	return nil
}

// bucketValue checks a sub-bucket: a root page, or an inline leaf page in
// the value itself.
func (c *fileCheck) bucketValue(v []byte, name where, bucketDepth int) error {
	if len(v) < bucketHeaderSize {
		return fmt.Errorf("%s: value of %d bytes is too short", name, len(v))
	}
	if root := ne.Uint64(v); root != 0 {
		return c.tree(root, bucketDepth)
	}
	if bucketDepth > maxBucketDepth {
		return fmt.Errorf("%s: buckets nested deeper than helpdeskd writes them", name)
	}
	in := v[bucketHeaderSize:]
	if len(in) < pageHeaderSize {
		return fmt.Errorf("%s: inline page of %d bytes", name, len(in))
	}
	p := &page{src: inlineSource{}, first: in, size: uint64(len(in)), flags: ne.Uint16(in[8:]), count: uint64(ne.Uint16(in[10:]))}
	if p.flags != leafPageFlag {
		return fmt.Errorf("%s: inline page has flags %#x", name, p.flags)
	}
	var last []byte
	return c.leaf(p, name, bucketDepth, &last)
}

// freelist accounts for the freelist page and every page it lists.
func (c *fileCheck) freelist(id uint64) error {
	p, err := c.readPage(id)
	if err != nil {
		return fmt.Errorf("freelist: %w", err)
	}
	if p.flags != freelistPageFlag {
		return fmt.Errorf("freelist page %d: flags %#x", id, p.flags)
	}
	start, count := uint64(pageHeaderSize), p.count
	if count == 0xFFFF {
		n, err := p.bytes(pageHeaderSize, 8)
		if err != nil {
			return fmt.Errorf("freelist page %d: %w", id, err)
		}
		start, count = pageHeaderSize+8, ne.Uint64(n)
	}
	if count > (p.size-start)/8 {
		return fmt.Errorf("freelist page %d: %d entries do not fit in %d bytes", id, count, p.size)
	}
	ids, err := p.bytes(start, count*8)
	if err != nil {
		return fmt.Errorf("freelist page %d: %w", id, err)
	}
	for i := 0; i < len(ids); i += 8 {
		free := ne.Uint64(ids[i:])
		if free < 2 {
			return fmt.Errorf("freelist names meta page %d", free)
		}
		if err := c.mark(free, 0); err != nil {
			return fmt.Errorf("freelist: %w", err)
		}
	}
	c.free = count
	return nil
}
