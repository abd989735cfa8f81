package service

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"

	"github.com/rococo-go/rococo/tools/internal/processors"
)

// Processors returns the processor types the Go files of dir (package
// main, tests left out) declare, by type name, with their kind, as Gazelle's
// extension (tools/gazelle/rococo) reads processor.go. A file that does not
// parse is skipped: the compiler reports it. Processors declared in other
// packages are not seen.
func Processors(dir string) map[string]processors.Kind {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	procs := map[string]processors.Kind{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.SkipObjectResolution)
		if err != nil || f.Name.Name != "main" {
			continue
		}
		for _, p := range processors.InFile(f) {
			procs[p.Type] = p.Kind
		}
	}
	return procs
}
