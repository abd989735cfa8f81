package ociimage

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Modes of extra content. Everything an image gets besides the service
// binary is owned by root (0:0) and not writable by the service's user:
// the root filesystem is meant to be mounted read-only, and what the service
// writes goes to /tmp or a volume.
const (
	FileMode = 0o644 // an extra file, or a tar entry without an exec bit
	ExecMode = 0o755 // a tar entry with an exec bit
	DirMode  = 0o755 // every directory created for extra content
	LinkMode = 0o777 // symbolic links
)

// File is one extra file of an image (a config file, a migration, an
// asset). It is written owned by root with mode FileMode.
type File struct {
	// Path is where the file goes in the image: absolute and clean, such
	// as /app/config.yaml.
	Path string
	// Source is the file on disk whose bytes are copied.
	Source string
}

func (f File) validate() error {
	if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
		return fmt.Errorf("extra file path %q: want an absolute, clean path such as /app/config.yaml", f.Path)
	}
	if f.Source == "" {
		return fmt.Errorf("extra file %s: no source file", f.Path)
	}
	return nil
}

// extraLayer is a layer added between the system layer and the
// application layer.
type extraLayer struct {
	layer v1.Layer
	what  string // for the history
}

// extraLayers builds one layer per tar (in order), then one layer holding
// the extra files. Both are the same for every platform.
func extraLayers(o Options) ([]extraLayer, error) {
	var out []extraLayer
	for _, t := range o.Tars {
		entries, err := readTar(t)
		if err != nil {
			return nil, err
		}
		l, err := layerOf(entries)
		if err != nil {
			return nil, fmt.Errorf("layer of tar %s: %w", t, err)
		}
		out = append(out, extraLayer{layer: l, what: "tar " + path.Base(t)})
	}
	if len(o.Files) == 0 {
		return out, nil
	}
	var entries []entry
	var names []string
	for _, f := range o.Files {
		data, err := os.ReadFile(f.Source)
		if err != nil {
			return nil, fmt.Errorf("read extra file for %s: %w", f.Path, err)
		}
		name := strings.TrimPrefix(f.Path, "/")
		entries = append(entries, entry{name: name, mode: FileMode, data: data})
		names = append(names, name)
	}
	entries = append(entries, dirs(names, map[string]bool{})...)
	l, err := layerOf(entries)
	if err != nil {
		return nil, fmt.Errorf("layer of extra files: %w", err)
	}
	return append(out, extraLayer{layer: l, what: fmt.Sprintf("%d extra file(s)", len(o.Files))}), nil
}

// readTar reads a tar file (gzip-compressed or not) into layer entries,
// normalised so the layer depends on names and contents alone: owners
// root (0:0) without user or group names, times fixed, directories
// DirMode, files ExecMode when any exec bit was set and FileMode
// otherwise, setuid, setgid and sticky bits dropped, hard links turned
// into copies of their target, extended attributes dropped. Device nodes,
// FIFOs and paths leaving the root are refused.
func readTar(file string) ([]entry, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("open tar: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("tar %s: %w", file, err)
		}
		defer gz.Close()
		r = gz
	}
	tr := tar.NewReader(r)
	var entries []entry
	byName := map[string]int{} // index in entries; a later entry replaces an earlier one
	var names []string
	haveDir := map[string]bool{}
	put := func(e entry) {
		if i, ok := byName[e.name]; ok {
			entries[i] = e
			return
		}
		byName[e.name] = len(entries)
		entries = append(entries, e)
		names = append(names, e.name)
		if e.dir {
			haveDir[e.name] = true
		}
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read tar %s: %w", file, err)
		}
		name, err := tarName(h.Name)
		if err != nil {
			return nil, fmt.Errorf("tar %s: %w", file, err)
		}
		if name == "" {
			continue // the root directory itself
		}
		switch h.Typeflag {
		case tar.TypeDir:
			put(dirEntry(name))
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("read tar %s: %s: %w", file, h.Name, err)
			}
			mode := int64(FileMode)
			if h.Mode&0o111 != 0 {
				mode = ExecMode
			}
			put(entry{name: name, mode: mode, data: data})
		case tar.TypeSymlink:
			put(entry{name: name, mode: LinkMode, link: h.Linkname})
		case tar.TypeLink:
			target, err := tarName(h.Linkname)
			if err != nil {
				return nil, fmt.Errorf("tar %s: hard link %s: %w", file, h.Name, err)
			}
			i, ok := byName[target]
			if !ok || entries[i].dir || entries[i].link != "" {
				return nil, fmt.Errorf("tar %s: hard link %s points at %s, which is no earlier regular file", file, h.Name, h.Linkname)
			}
			e := entries[i]
			e.name = name
			put(e)
		default:
			return nil, fmt.Errorf("tar %s: %s has type %q; only files, directories and links can go into an image", file, h.Name, h.Typeflag)
		}
	}
	return append(entries, dirs(names, haveDir)...), nil
}

// tarName cleans a tar entry name to a relative path without a leading
// slash; "" is the root.
func tarName(n string) (string, error) {
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q leaves the root", n)
		}
	}
	return strings.TrimPrefix(path.Clean("/"+n), "/"), nil
}

// normalisePort returns p as the config's ExposedPorts key: "PORT/PROTO"
// with PROTO tcp (the default), udp or sctp.
func normalisePort(p string) (string, error) {
	port, proto, found := strings.Cut(p, "/")
	if !found {
		proto = "tcp"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return "", fmt.Errorf("exposed port %q: want PORT[/PROTO] with PORT 1 to 65535, such as 8080/tcp", p)
	}
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return "", fmt.Errorf("exposed port %q: protocol %q is not tcp, udp or sctp", p, proto)
	}
	return port + "/" + proto, nil
}
