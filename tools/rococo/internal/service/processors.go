package service

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Processor kinds, as the runtime tells them apart.
const (
	MessageProcessor = "message" // Process(context.Context, *rococo.Message) error
	CronProcessor    = "cron"    // Process(context.Context) error
)

const rococoImport = "github.com/rococo-go/rococo/rococo"

// Processors returns the processor types the Go files of dir (package
// main, tests left out) declare, by type name: MessageProcessor or
// CronProcessor, as Gazelle's extension (tools/gazelle/rococo) reads
// processor.go. A file that does not parse is skipped: the compiler reports
// it. Processors declared in other packages are not seen.
func Processors(dir string) map[string]string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	procs := map[string]string{}
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
		ctxName, rococoName := "", ""
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			name := filepath.Base(p)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			switch p {
			case "context":
				ctxName = name
			case rococoImport:
				rococoName = name
			}
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 || fn.Name.Name != "Process" || !returnsError(fn.Type) {
				continue
			}
			t := fn.Recv.List[0].Type
			if star, ok := t.(*ast.StarExpr); ok {
				t = star.X
			}
			recv, ok := t.(*ast.Ident)
			if !ok {
				continue
			}
			switch params := paramTypes(fn.Type); {
			case len(params) == 1 && isSelector(params[0], ctxName, "Context"):
				procs[recv.Name] = CronProcessor
			case len(params) == 2 && isSelector(params[0], ctxName, "Context") && isPointerTo(params[1], rococoName, "Message"):
				procs[recv.Name] = MessageProcessor
			}
		}
	}
	return procs
}

func paramTypes(ft *ast.FuncType) []ast.Expr {
	var types []ast.Expr
	for _, field := range ft.Params.List {
		n := max(len(field.Names), 1)
		for range n {
			types = append(types, field.Type)
		}
	}
	return types
}

func returnsError(ft *ast.FuncType) bool {
	if ft.Results == nil || len(ft.Results.List) != 1 || len(ft.Results.List[0].Names) > 1 {
		return false
	}
	id, ok := ft.Results.List[0].Type.(*ast.Ident)
	return ok && id.Name == "error"
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || pkg == "" {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == pkg && sel.Sel.Name == name
}

func isPointerTo(e ast.Expr, pkg, name string) bool {
	star, ok := e.(*ast.StarExpr)
	return ok && isSelector(star.X, pkg, name)
}
