package ociimage

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// Fixed identities of the image's users. UID and GID 65532 ("nonroot") are
// the values distroless images use, so policies written for those apply.
const (
	NonRootUID = 65532
	NonRootGID = 65532

	// CABundlePath is where Go's crypto/x509 looks first on Linux.
	CABundlePath = "etc/ssl/certs/ca-certificates.crt"
	// ZoneInfoDir is where Go's time package looks first on Linux.
	ZoneInfoDir = "usr/share/zoneinfo"
	// AppDir holds the service binary and is the working directory.
	AppDir = "app"
)

const passwd = `root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
`

const group = `root:x:0:
nobody:x:65534:
nonroot:x:65532:
`

// nsswitch.conf makes Go's resolver consult /etc/hosts before DNS, as glibc
// systems do.
const nsswitch = "hosts: files dns\n"

// entry is one file or directory of a layer.
type entry struct {
	name     string // relative, no leading slash
	dir      bool
	mode     int64 // permission bits plus setuid/setgid/sticky
	uid, gid int
	data     []byte
	link     string // the target of a symbolic link
}

// tarLayer writes entries, sorted by name, as an uncompressed tar stream with
// every time set to mtime and no user or group names, so the bytes depend on
// the entries alone.
func tarLayer(entries []entry, mtime time.Time) ([]byte, error) {
	sorted := append([]entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, e := range sorted {
		if i > 0 && sorted[i-1].name == e.name {
			return nil, fmt.Errorf("duplicate layer entry %q", e.name)
		}
		hdr := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: mtime,
			Format:  tar.FormatPAX,
		}
		switch {
		case e.dir:
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case e.link != "":
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = e.link
		default:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("write tar header %q: %w", e.name, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				return nil, fmt.Errorf("write tar entry %q: %w", e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close tar: %w", err)
	}
	return buf.Bytes(), nil
}

// fixedDirs are the system directories whose owner or mode is not root's
// 0755. A layer that holds one of them (an extra file under /home/nonroot,
// a tar with a tmp/ entry) writes it with these values, so no layer above
// the system layer changes them.
var fixedDirs = map[string]entry{
	"tmp":          {name: "tmp", dir: true, mode: 0o1777},
	"home/nonroot": {name: "home/nonroot", dir: true, mode: 0o700, uid: NonRootUID, gid: NonRootGID},
	"root":         {name: "root", dir: true, mode: 0o700},
}

// dirEntry returns the entry of directory d: its fixed values, else
// root-owned DirMode.
func dirEntry(d string) entry {
	if e, ok := fixedDirs[d]; ok {
		return e
	}
	return entry{name: d, dir: true, mode: DirMode}
}

// dirs returns directory entries for every parent of the given file names
// that is not already in have.
func dirs(names []string, have map[string]bool) []entry {
	var out []entry
	for _, n := range names {
		for d := path.Dir(n); d != "." && d != "/"; d = path.Dir(d) {
			if have[d] {
				continue
			}
			have[d] = true
			out = append(out, dirEntry(d))
		}
	}
	return out
}

// systemEntries returns the files every image built from scratch gets: the
// users, the CA bundle, the time zone database, /tmp and /app.
func systemEntries(caPEM []byte, zones []entry) []entry {
	entries := []entry{
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/nsswitch.conf", mode: 0o644, data: []byte(nsswitch)},
		{name: CABundlePath, mode: 0o644, data: caPEM},
		fixedDirs["tmp"],
		{name: AppDir, dir: true, mode: DirMode},
		fixedDirs["home/nonroot"],
		fixedDirs["root"],
	}
	entries = append(entries, zones...)
	have := map[string]bool{}
	var names []string
	for _, e := range entries {
		if e.dir {
			have[e.name] = true
		}
		names = append(names, e.name)
	}
	return append(entries, dirs(names, have)...)
}

// FallbackCABundle returns, PEM-encoded, the root certificates of the
// Mozilla NSS trust store as vendored by the Go module
// golang.org/x/crypto/x509roots/fallback (its bundle package). The set is
// fixed by the module version in go.sum, so it is the same on every machine.
// Roots that carry NSS constraints PEM cannot express (a distrust-after
// date) are left out: a client reading a plain PEM file would trust them
// without the constraint.
func FallbackCABundle() []byte {
	var buf bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		// pem.Encode only fails on a failing writer; bytes.Buffer never fails.
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate})
	}
	return buf.Bytes()
}

// ZoneInfoEntries unpacks a time zone database into files under
// /usr/share/zoneinfo. src is either the Go SDK's lib/time/zoneinfo.zip or
// the SDK's src/time/tzdata/zzipdata.go, whose string constant holds the
// same zip (rules_go exposes the SDK's sources to rules, not lib/).
func ZoneInfoEntries(src []byte) ([]entry, error) {
	zipData := src
	if !bytes.HasPrefix(src, []byte("PK")) {
		var err error
		if zipData, err = zipFromGoSource(src); err != nil {
			return nil, err
		}
	}
	zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
	if err != nil {
		return nil, fmt.Errorf("read time zone zip: %w", err)
	}
	var out []entry
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		clean := path.Clean(f.Name)
		if path.IsAbs(clean) || strings.HasPrefix(clean, "..") {
			return nil, fmt.Errorf("time zone zip: unsafe entry name %q", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("time zone zip: open %q: %w", f.Name, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("time zone zip: read %q: %w", f.Name, err)
		}
		out = append(out, entry{name: path.Join(ZoneInfoDir, clean), mode: 0o644, data: data})
	}
	if len(out) == 0 {
		return nil, errors.New("time zone zip holds no zones")
	}
	return out, nil
}

// zipFromGoSource extracts the string constant zipdata from Go source.
func zipFromGoSource(src []byte) ([]byte, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "zzipdata.go", src, 0)
	if err != nil {
		return nil, fmt.Errorf("time zone data is neither a zip nor Go source: %w", err)
	}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if n.Name != "zipdata" || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return nil, errors.New("time zone Go source: zipdata is not a string literal")
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					return nil, fmt.Errorf("time zone Go source: unquote zipdata: %w", err)
				}
				return []byte(s), nil
			}
		}
	}
	return nil, errors.New("time zone Go source: no const zipdata")
}
