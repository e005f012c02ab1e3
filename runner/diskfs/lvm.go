package diskfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// LVM2 physical volumes (the RHEL family's `autopart --type=lvm`) are read
// from their on-disk metadata, without device-mapper or lvm tools: the
// label in one of the PV's first four sectors points to the metadata area,
// whose header points to the current metadata text; that text says where
// each logical volume's extents lie. A logical volume that is one linear
// run of extents on this one PV is then just a byte range of the disk, read
// like a partition. Others (several segments, striped, mirrored, thin, or
// spread over several PVs) are reported, not read.

const (
	lvmLabelID  = "LABELONE"
	lvmMDAMagic = " LVM2 x[5A%r0N*>"
	sector      = 512
	maxLVMText  = 4 << 20
)

// lvmVolumes returns the linear logical volumes of the PV at start (size
// bytes) of raw as partitions, ok=false when there is no LVM label there.
// skipped names the volumes that cannot be read as one range, and why.
func lvmVolumes(raw string, p partition) (vols []partition, skipped []string, ok bool, err error) {
	f, err := os.Open(raw)
	if err != nil {
		return nil, nil, false, err
	}
	defer f.Close()
	head := make([]byte, 4*sector)
	if _, err := f.ReadAt(head, p.start); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, false, err
	}
	var label []byte
	for i := 0; i < 4; i++ {
		if string(head[i*sector:i*sector+8]) == lvmLabelID {
			label = head[i*sector : (i+1)*sector]
		}
	}
	if label == nil {
		return nil, nil, false, nil
	}
	text, err := lvmMetadataText(f, p.start, label)
	if err != nil {
		return nil, nil, true, fmt.Errorf("LVM physical volume at %d: %w", p.start, err)
	}
	vols, skipped, err = lvmLinearVolumes(text, p.start)
	if err != nil {
		return nil, nil, true, fmt.Errorf("LVM physical volume at %d: %w", p.start, err)
	}
	return vols, skipped, true, nil
}

// lvmMetadataText follows the label to the newest metadata text.
func lvmMetadataText(f io.ReaderAt, pvStart int64, label []byte) ([]byte, error) {
	le := binary.LittleEndian
	pvh := int(le.Uint32(label[20:24])) // offset_xl: the PV header, from the label's start
	if pvh < 32 || pvh+40 > len(label) {
		return nil, fmt.Errorf("label: PV header offset %d", pvh)
	}
	// PV header: uuid[32], device size u64, then data areas and metadata
	// areas, each a zero-terminated list of {offset u64, size u64}.
	locs := label[pvh+40:]
	next := func() (off, size uint64, ok bool) {
		if len(locs) < 16 {
			return 0, 0, false
		}
		off, size = le.Uint64(locs[0:8]), le.Uint64(locs[8:16])
		locs = locs[16:]
		return off, size, off != 0 || size != 0
	}
	for _, _, ok := next(); ok; _, _, ok = next() { // data areas
	}
	mdaOff, mdaSize, ok := next()
	if !ok {
		return nil, errors.New("no metadata area")
	}
	hdr := make([]byte, sector)
	if _, err := f.ReadAt(hdr, pvStart+int64(mdaOff)); err != nil {
		return nil, fmt.Errorf("metadata area header: %w", err)
	}
	if string(hdr[4:20]) != lvmMDAMagic {
		return nil, errors.New("metadata area header: bad magic")
	}
	// raw_locn[0]: {offset u64, size u64, checksum u32, flags u32} after
	// checksum u32, magic[16], version u32, start u64, size u64.
	textOff, textSize := le.Uint64(hdr[40:48]), le.Uint64(hdr[48:56])
	if textSize == 0 || textSize > maxLVMText || textOff >= mdaSize || mdaSize <= sector {
		return nil, fmt.Errorf("metadata text at %d (%d bytes) in a %d-byte area", textOff, textSize, mdaSize)
	}
	text := make([]byte, textSize)
	first := min(textSize, mdaSize-textOff)
	if _, err := f.ReadAt(text[:first], pvStart+int64(mdaOff+textOff)); err != nil {
		return nil, fmt.Errorf("metadata text: %w", err)
	}
	if first < textSize { // the area is a ring buffer after its header sector
		if _, err := f.ReadAt(text[first:], pvStart+int64(mdaOff+sector)); err != nil {
			return nil, fmt.Errorf("metadata text: %w", err)
		}
	}
	return bytes.TrimRight(text, "\x00"), nil
}

// lvmLinearVolumes reads the volume group's text and returns each
// single-segment linear logical volume as a byte range of the disk.
func lvmLinearVolumes(text []byte, pvStart int64) ([]partition, []string, error) {
	doc, err := parseLVMText(string(text))
	if err != nil {
		return nil, nil, err
	}
	var vg map[string]any
	for _, v := range doc {
		if m, ok := v.(map[string]any); ok {
			vg = m // the one section at the top: the volume group
		}
	}
	if vg == nil {
		return nil, nil, errors.New("metadata names no volume group")
	}
	extent, _ := vg["extent_size"].(int64)
	pvs, _ := vg["physical_volumes"].(map[string]any)
	if extent <= 0 || len(pvs) != 1 {
		return nil, nil, fmt.Errorf("volume group: extent size %d, %d physical volumes (one is read)", extent, len(pvs))
	}
	var pvName string
	var peStart int64
	for name, v := range pvs {
		pv, _ := v.(map[string]any)
		pvName = name
		peStart, _ = pv["pe_start"].(int64)
	}
	lvs, _ := vg["logical_volumes"].(map[string]any)
	var vols []partition
	var skipped []string
	for name, v := range lvs {
		lv, _ := v.(map[string]any)
		seg, _ := lv["segment1"].(map[string]any)
		stripes, _ := seg["stripes"].([]any)
		count, _ := seg["extent_count"].(int64)
		if n, _ := lv["segment_count"].(int64); n != 1 || seg["type"] != "striped" || seg["stripe_count"] != int64(1) ||
			len(stripes) != 2 || stripes[0] != pvName || count <= 0 {
			skipped = append(skipped, name+" (not one linear segment)")
			continue
		}
		first, _ := stripes[1].(int64)
		vols = append(vols, partition{start: pvStart + (peStart+first*extent)*sector, size: count * extent * sector})
	}
	return vols, skipped, nil
}

// parseLVMText parses LVM's metadata format: `name = value` pairs and
// `name { ... }` sections; values are integers, quoted strings or lists of
// them; `#` starts a comment.
func parseLVMText(s string) (map[string]any, error) {
	p := &lvmParser{s: s}
	m, err := p.section(0)
	if err != nil {
		return nil, fmt.Errorf("metadata text: %w", err)
	}
	return m, nil
}

type lvmParser struct {
	s   string
	pos int
}

func (p *lvmParser) skip() {
	for p.pos < len(p.s) {
		switch c := p.s[p.pos]; {
		case c == '#':
			for p.pos < len(p.s) && p.s[p.pos] != '\n' {
				p.pos++
			}
		case unicode.IsSpace(rune(c)):
			p.pos++
		default:
			return
		}
	}
}

func (p *lvmParser) ident() string {
	start := p.pos
	for p.pos < len(p.s) && (isIdent(p.s[p.pos])) {
		p.pos++
	}
	return p.s[start:p.pos]
}

func isIdent(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == '+' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (p *lvmParser) section(depth int) (map[string]any, error) {
	if depth > 16 {
		return nil, errors.New("sections nested too deep")
	}
	m := map[string]any{}
	for {
		p.skip()
		if p.pos >= len(p.s) {
			if depth > 0 {
				return nil, errors.New("unterminated section")
			}
			return m, nil
		}
		if p.s[p.pos] == '}' {
			if depth == 0 {
				return nil, fmt.Errorf("unexpected } at byte %d", p.pos)
			}
			p.pos++
			return m, nil
		}
		name := p.ident()
		if name == "" {
			return nil, fmt.Errorf("unexpected %q at byte %d", p.s[p.pos], p.pos)
		}
		p.skip()
		if p.pos >= len(p.s) {
			return nil, fmt.Errorf("%s: unexpected end", name)
		}
		switch p.s[p.pos] {
		case '{':
			p.pos++
			sub, err := p.section(depth + 1)
			if err != nil {
				return nil, err
			}
			m[name] = sub
		case '=':
			p.pos++
			v, err := p.value()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			m[name] = v
		default:
			return nil, fmt.Errorf("%s: unexpected %q", name, p.s[p.pos])
		}
	}
}

func (p *lvmParser) value() (any, error) {
	p.skip()
	if p.pos >= len(p.s) {
		return nil, errors.New("missing value")
	}
	switch c := p.s[p.pos]; {
	case c == '"':
		end := strings.IndexByte(p.s[p.pos+1:], '"')
		if end < 0 {
			return nil, errors.New("unterminated string")
		}
		v := p.s[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return v, nil
	case c == '[':
		p.pos++
		var list []any
		for {
			p.skip()
			if p.pos < len(p.s) && p.s[p.pos] == ']' {
				p.pos++
				return list, nil
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			p.skip()
			if p.pos < len(p.s) && p.s[p.pos] == ',' {
				p.pos++
			}
		}
	default:
		word := p.ident()
		n, err := strconv.ParseInt(word, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("value %q is not a number, string or list", word)
		}
		return n, nil
	}
}
