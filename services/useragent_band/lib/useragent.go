// Package lib is useragent_band's enricher: a User-Agent named by a small
// table of tokens.
package lib

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"strings"
)

//go:embed table.csv
var table []byte

// Row is one line of the table: when the User-Agent holds Token, Field is
// Value.
type Row struct{ Field, Token, Value string }

// Table returns the table shipped with the service.
func Table() []Row {
	rows, err := ParseTable(table)
	if err != nil {
		panic(fmt.Sprintf("useragent_band: the shipped table.csv: %v", err)) // caught by its test
	}
	return rows
}

// ParseTable reads field,token,value lines; '#' starts a comment line.
func ParseTable(b []byte) ([]Row, error) {
	var rows []Row
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 3 || f[0] == "" || f[1] == "" || f[2] == "" {
			return nil, fmt.Errorf("line %d: %q is not field,token,value", n, line)
		}
		switch f[0] {
		case "bot", "browser", "os", "device":
		default:
			return nil, fmt.Errorf("line %d: the field %q is not one of bot, browser, os, device", n, f[0])
		}
		rows = append(rows, Row{Field: f[0], Token: strings.ToLower(f[1]), Value: f[2]})
	}
	return rows, sc.Err()
}

// UserAgent names User-Agents with a table.
type UserAgent struct{ rows []Row }

// New returns the enricher of rows.
func New(rows []Row) *UserAgent { return &UserAgent{rows: rows} }

// In is the enricher's one argument (props: ua <- td.ua).
type In struct {
	UA string `json:"ua"`
}

// Out is what the enricher adds under data.ua.
type Out struct {
	Browser string `json:"browser,omitempty"`
	OS      string `json:"os,omitempty"`
	Device  string `json:"device"`
	Bot     bool   `json:"bot"`
}

// Parse names in.UA's browser, OS and device ("desktop" unless a token
// says otherwise).
func (u *UserAgent) Parse(_ context.Context, in In) (Out, error) {
	ua := strings.ToLower(in.UA)
	out := Out{}
	found := map[string]bool{}
	for _, r := range u.rows {
		if found[r.Field] || !strings.Contains(ua, r.Token) {
			continue
		}
		found[r.Field] = true
		switch r.Field {
		case "bot":
			out.Bot = true
		case "browser":
			out.Browser = r.Value
		case "os":
			out.OS = r.Value
		case "device":
			out.Device = r.Value
		}
	}
	if out.Device == "" {
		out.Device = "desktop"
	}
	return out, nil
}
