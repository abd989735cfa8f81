package rococo

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
)

// The runtime's packages whose types mark a service's execution type.
const (
	rococoImport = "github.com/rococo-go/rococo/rococo"
	bandImport   = "github.com/rococo-go/rococo/rococo/band"
)

// Execution types, as EXECUTION_TYPE and rococo_service's execution_type spell them.
const (
	messaging = "MESSAGING"
	cron      = "CRON"
	band      = "BAND"
)

// service is what processor.go says about its service.
type service struct {
	// executionType is MESSAGING, CRON or BAND; "" when processor.go shows none.
	executionType string
	// processorType is the processor's Go type name; "" for BAND and when none was found.
	processorType string
}

// inferService reads dir/processor.go. A type with a method
// Process(context.Context, *rococo.Message) error is a message processor (MESSAGING), one with
// Process(context.Context) error a cron processor (CRON); the first such type in the file wins.
// Without a processor, a file that imports rococo/band is a Band service (BAND).
func inferService(dir string) (service, error) {
	path := filepath.Join(dir, "processor.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return service{}, fmt.Errorf("parse %s: %w", path, err)
	}
	names := importNames(f)
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
			return service{executionType: cron, processorType: recv}, nil
		case len(params) == 2 && isSelector(params[0], names["context"], "Context") && isPointerTo(params[1], names[rococoImport], "Message"):
			return service{executionType: messaging, processorType: recv}, nil
		}
	}
	if _, ok := names[bandImport]; ok {
		return service{executionType: band}, nil
	}
	return service{}, nil
}

// importNames maps each imported path to the name the file uses for it (the last path element
// unless renamed). Blank and dot imports are left out.
func importNames(f *ast.File) map[string]string {
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
		n := len(field.Names)
		if n == 0 {
			n = 1
		}
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
