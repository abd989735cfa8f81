package cli

import (
	"flag"
	"io"
	"reflect"
	"testing"
)

func TestStrings(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var tags Strings
	fs.Var(&tags, "tag", "")
	if err := fs.Parse([]string{"--tag", "a", "--tag=b", "--tag", ""}); err != nil {
		t.Fatal(err)
	}
	if want := (Strings{"a", "b", ""}); !reflect.DeepEqual(tags, want) || tags.String() != "a,b," {
		t.Errorf("tags = %q (%q), want %q", tags, tags.String(), want)
	}
}
