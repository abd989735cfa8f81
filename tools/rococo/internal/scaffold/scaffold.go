package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/template"

	"github.com/rococo-go/rococo/tools/rococo/internal/service"
)

//go:embed templates
var templates embed.FS

// Types are the service types `rococo new --type` accepts.
var Types = []string{"messaging", "cron", "band"}

// Transports are the brokers of a messaging service (--transport).
var Transports = []string{"rabbitmq", "sqs"}

// Spec is the service to write.
type Spec struct {
	// Name is the directory under services/ and the Bazel target: lower
	// case letters, digits and _, starting with a letter.
	Name string
	// Type is one of Types.
	Type string
	// Transport is one of Transports for a messaging service (default
	// rabbitmq), "" otherwise.
	Transport string
	// Module is the Go module path of the workspace (go.mod's module).
	Module string
}

// Check returns a one-line error naming what is wrong with s and the fix,
// or nil. It fills in the default transport of a messaging service. The
// name rules (and the reserved names) are service.NameProblem's, which
// rococo check applies too.
func (s *Spec) Check() error {
	if s.Name == "" {
		return errors.New("missing service name. Fix: rococo new <name> --type messaging|cron|band")
	}
	if problem, fix := service.NameProblem(s.Name); problem != "" {
		return fmt.Errorf("%s. Fix: %s", problem, fix)
	}
	switch {
	case s.Type == "":
		return fmt.Errorf("missing --type: want messaging, cron or band. Fix: rococo new %s --type messaging", s.Name)
	case !slices.Contains(Types, s.Type):
		return fmt.Errorf("invalid --type %q: want one of %s", s.Type, strings.Join(Types, ", "))
	}
	if s.Type != "messaging" {
		if s.Transport != "" {
			return fmt.Errorf("--transport %s is set for a %s service: only a messaging service consumes a queue. Fix: remove --transport", s.Transport, s.Type)
		}
		return nil
	}
	if s.Transport == "" {
		s.Transport = "rabbitmq"
	}
	if !slices.Contains(Transports, s.Transport) {
		return fmt.Errorf("invalid --transport %q: want one of %s", s.Transport, strings.Join(Transports, ", "))
	}
	return nil
}

// data is what the templates see.
type data struct {
	Spec
	// Processor is the processor's Go type name (PROCESSOR_TYPE):
	// order_events gives OrderEventsProcessor.
	Processor string
	// MessagingType is RabbitMqConnection or SqsConnection.
	MessagingType string
	// Queue is the queue a messaging service consumes (its name).
	Queue string
}

func (s Spec) data() data {
	d := data{Spec: s, Processor: camel(s.Name) + "Processor", Queue: strings.ReplaceAll(s.Name, "_", "-")}
	switch s.Transport {
	case "rabbitmq":
		d.MessagingType = "RabbitMqConnection"
	case "sqs":
		d.MessagingType = "SqsConnection"
	}
	return d
}

func camel(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// Render returns the files of the service, by path relative to its
// directory (services/<name>/). s must have passed Check.
func Render(s Spec) (map[string][]byte, error) {
	root := path.Join("templates", s.Type)
	d := s.data()
	files := map[string][]byte{}
	err := fs.WalkDir(templates, root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		src, err := templates.ReadFile(p)
		if err != nil {
			return err
		}
		t, err := template.New(p).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return fmt.Errorf("parse template %s: %w", p, err)
		}
		var out bytes.Buffer
		if err := t.Execute(&out, d); err != nil {
			return fmt.Errorf("render template %s: %w", p, err)
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, root+"/"), ".tmpl")
		files[rel] = out.Bytes()
		return nil
	})
	return files, err
}

// Write renders s into workspace/services/<name>/ and returns the paths
// written, relative to workspace. An existing directory is refused: nothing
// is overwritten.
func Write(workspace string, s Spec) ([]string, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	rel := filepath.Join("services", s.Name)
	dir := filepath.Join(workspace, rel)
	if _, err := os.Lstat(dir); err == nil {
		return nil, fmt.Errorf("%s already exists: rococo new writes new services only. Fix: pick another name, or remove %s first", rel, rel)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("check %s: %w", rel, err)
	}
	if _, err := os.Stat(filepath.Join(workspace, "services")); err != nil {
		return nil, fmt.Errorf("%s has no services/ directory: run rococo new in a Rococo workspace (or with bazel run //tools/rococo -- new ...)", workspace)
	}
	files, err := Render(s)
	if err != nil {
		return nil, err
	}
	var written []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return written, fmt.Errorf("create %s: %w", filepath.Dir(p), err)
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return written, fmt.Errorf("write %s: %w", p, err)
		}
		written = append(written, filepath.Join(rel, filepath.FromSlash(name)))
	}
	return written, nil
}
