package lib

import (
	"net/netip"
	"strings"
	"testing"
)

func TestDB_Lookup(t *testing.T) {
	db := Sample()
	tests := []struct {
		ip    string
		want  Location
		found bool
	}{
		{"192.0.2.0", Location{"FR", "Paris"}, true},
		{"192.0.2.255", Location{"FR", "Paris"}, true},
		{"192.0.3.0", Location{}, false},
		{"198.51.100.17", Location{"DE", "Berlin"}, true},
		{"127.0.0.1", Location{"ZZ", "Loopback"}, true},
		{"::ffff:203.0.113.9", Location{"JP", "Tokyo"}, true}, // IPv4-mapped
		{"2001:db8::42", Location{"NL", "Amsterdam"}, true},
		{"::1", Location{"ZZ", "Loopback"}, true},
		{"::2", Location{}, false},
		{"8.8.8.8", Location{}, false},
		{"0.0.0.0", Location{}, false},
	}
	for _, tc := range tests {
		got, ok := db.Lookup(netip.MustParseAddr(tc.ip))
		if got != tc.want || ok != tc.found {
			t.Errorf("Lookup(%s) = %v, %v; want %v, %v", tc.ip, got, ok, tc.want, tc.found)
		}
	}
}

func TestParseDB_errors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1.0.0.0,1.0.0.9,XX\n", "line 1: want start,end,country,city, got 3 fields"},
		{"\n# c\n1.0.0.9,1.0.0.0,XX,Y\n", `line 3: "1.0.0.9" to "1.0.0.0" is not a range of addresses`},
		{"1.0.0.0,::1,XX,Y\n", `line 1: "1.0.0.0" to "::1" is not a range of addresses`},
		{"1.0.0.0,1.0.0.9,A,B\n1.0.0.5,1.0.0.20,C,D\n", "ranges starting at 1.0.0.0 and 1.0.0.5 overlap"},
		{"# only a comment\n", "no ranges: an empty (or truncated) file"},
	}
	for _, tc := range tests {
		if _, err := ParseDB(strings.NewReader(tc.in)); err == nil || err.Error() != tc.want {
			t.Errorf("ParseDB(%q) error = %v, want %s", tc.in, err, tc.want)
		}
	}
}
