package lib

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
)

// Location is where an IP address is.
type Location struct {
	Country string `json:"country"`
	City    string `json:"city"`
}

// ipRange is one line of the database: the addresses from start to end.
type ipRange struct {
	start, end netip.Addr
	loc        Location
}

// DB maps IP addresses to locations. It is immutable: a reload builds a new
// one.
type DB struct {
	ranges []ipRange // sorted by start, not overlapping
}

//go:embed sample.csv
var sample []byte

// Sample returns the built-in sample database (documentation and loopback
// ranges).
func Sample() *DB {
	db, err := ParseDB(bytes.NewReader(sample))
	if err != nil {
		panic("lib: the embedded sample.csv does not parse: " + err.Error())
	}
	return db
}

// ParseDB reads lines of start,end,country,city (# comments and blank lines
// skipped). Ranges must not overlap; a file without any is an error (a
// truncated copy must not replace a good database).
func ParseDB(r io.Reader) (*DB, error) {
	var ranges []ipRange
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 4 {
			return nil, fmt.Errorf("line %d: want start,end,country,city, got %d fields", n, len(f))
		}
		start, err1 := netip.ParseAddr(strings.TrimSpace(f[0]))
		end, err2 := netip.ParseAddr(strings.TrimSpace(f[1]))
		if err1 != nil || err2 != nil || start.Is4() != end.Is4() || end.Less(start) {
			return nil, fmt.Errorf("line %d: %q to %q is not a range of addresses", n, f[0], f[1])
		}
		ranges = append(ranges, ipRange{start: start, end: end, loc: Location{Country: strings.TrimSpace(f[2]), City: strings.TrimSpace(f[3])}})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(ranges) == 0 {
		return nil, fmt.Errorf("no ranges: an empty (or truncated) file")
	}
	slices.SortFunc(ranges, func(a, b ipRange) int { return a.start.Compare(b.start) })
	for i := 1; i < len(ranges); i++ {
		if !ranges[i-1].end.Less(ranges[i].start) {
			return nil, fmt.Errorf("ranges starting at %v and %v overlap", ranges[i-1].start, ranges[i].start)
		}
	}
	return &DB{ranges: ranges}, nil
}

// Lookup returns the location of ip.
func (db *DB) Lookup(ip netip.Addr) (Location, bool) {
	ip = ip.Unmap()
	i, _ := slices.BinarySearchFunc(db.ranges, ip, func(r ipRange, ip netip.Addr) int { return r.start.Compare(ip) })
	// ranges[i-1] is the last range starting at or before ip (i itself
	// when its start equals ip).
	if i < len(db.ranges) && db.ranges[i].start == ip {
		return db.ranges[i].loc, true
	}
	if i > 0 && !db.ranges[i-1].end.Less(ip) && db.ranges[i-1].start.Is4() == ip.Is4() {
		return db.ranges[i-1].loc, true
	}
	return Location{}, false
}

// Len returns the number of ranges.
func (db *DB) Len() int { return len(db.ranges) }

// Each calls f for each range, in order, until f returns an error.
func (db *DB) Each(f func(start, end netip.Addr, loc Location) error) error {
	for _, r := range db.ranges {
		if err := f(r.start, r.end, r.loc); err != nil {
			return err
		}
	}
	return nil
}
