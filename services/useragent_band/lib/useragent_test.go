package lib_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rococo-go/rococo/services/useragent_band/lib"
)

func TestParse(t *testing.T) {
	u := lib.New(lib.Table())
	tests := []struct {
		ua   string
		want lib.Out
	}{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0", lib.Out{Browser: "Edge", OS: "Windows", Device: "desktop"}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", lib.Out{Browser: "Safari", OS: "iOS", Device: "mobile"}},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0", lib.Out{Browser: "Firefox", OS: "Linux", Device: "desktop"}},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36", lib.Out{Browser: "Chrome", OS: "Android", Device: "mobile"}},
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", lib.Out{Device: "desktop", Bot: true}},
		{"curl/8.5.0", lib.Out{Browser: "curl", Device: "desktop", Bot: true}},
		{"", lib.Out{Device: "desktop"}},
	}
	for _, tc := range tests {
		got, err := u.Parse(context.Background(), lib.In{UA: tc.ua})
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.ua, got, err, tc.want)
		}
	}
}

func TestParseTable(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"# comment\n\nbrowser,Firefox/,Firefox\n", ""},
		{"browser,Firefox/\n", "is not field,token,value"},
		{"colour,red,red\n", "not one of bot, browser, os, device"},
	}
	for _, tc := range tests {
		_, err := lib.ParseTable([]byte(tc.in))
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("ParseTable(%q) = %v, want %q", tc.in, err, tc.wantErr)
		}
	}
}
