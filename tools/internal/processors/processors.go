package processors

import (
	"go/ast"
	"path/filepath"
	"strconv"
)

// Kind is what a processor type processes.
type Kind string

// The kinds of processor.
const (
	Message Kind = "message" // Process(context.Context, *rococo.Message) error
	Cron    Kind = "cron"    // Process(context.Context) error
)

// RococoImport is the runtime's core package, which declares rococo.Message.
const RococoImport = "github.com/rococo-go/rococo/rococo"

// Processor is a processor type declared in a file.
type Processor struct {
	Type string // the Go type name
	Kind Kind
}

// InFile returns the processor types f declares, in the order of their
// Process methods.
func InFile(f *ast.File) []Processor {
	names := ImportNames(f)
	var out []Processor
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || fn.Name.Name != "Process" || !returnsError(fn.Type) {
			continue
		}
		recv := receiverType(fn.Recv)
		if recv == "" {
			continue
		}
		switch params := paramTypes(fn.Type); {
		case len(params) == 1 && isSelector(params[0], names["context"], "Context"):
			out = append(out, Processor{Type: recv, Kind: Cron})
		case len(params) == 2 && isSelector(params[0], names["context"], "Context") && isPointerTo(params[1], names[RococoImport], "Message"):
			out = append(out, Processor{Type: recv, Kind: Message})
		}
	}
	return out
}

// ImportNames maps each path f imports to the name f uses for it (the last
// path element unless renamed). Blank and dot imports are left out.
func ImportNames(f *ast.File) map[string]string {
	names := make(map[string]string)
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		name := filepath.Base(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		if name == "_" || name == "." {
			continue
		}
		names[p] = name
	}
	return names
}

func receiverType(recv *ast.FieldList) string {
	if len(recv.List) != 1 {
		return ""
	}
	t := recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// paramTypes lists one type per parameter (a, b T counts twice).
func paramTypes(ft *ast.FuncType) []ast.Expr {
	var types []ast.Expr
	for _, field := range ft.Params.List {
		for range max(len(field.Names), 1) {
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
