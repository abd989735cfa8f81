package lib

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/rococo-go/rococo/common/appconfig"
	"github.com/rococo-go/rococo/rococo/config"
)

// Config says what to clean.
type Config struct {
	// Dir is the directory cleaned (CLEANUP_DIR, required).
	Dir string
	// MaxAge is the age past which a file is removed (CLEANUP_MAX_AGE,
	// default 24h), measured from its modification time.
	MaxAge time.Duration
	// Pattern selects files by base name, a filepath.Match pattern such as
	// "*.tmp" (CLEANUP_PATTERN, default "*").
	Pattern string
	// Recursive also cleans subdirectories (CLEANUP_RECURSIVE, default
	// false). Directories themselves are never removed.
	Recursive bool
	// DryRun logs what would be removed and removes nothing
	// (CLEANUP_DRY_RUN, default false).
	DryRun bool
	// CreateDir creates Dir (mode 0700, with its parents) when it is
	// missing, for a directory the service owns (CLEANUP_CREATE_DIR, default
	// false: a missing directory is then an error, which catches a typo).
	CreateDir bool
}

// ConfigFromEnv reads the CLEANUP_* variables.
func ConfigFromEnv(env appconfig.Env) (Config, error) {
	var c Config
	var err error
	if c.Dir, err = env.Required("CLEANUP_DIR", "the directory to clean"); err != nil {
		return c, err
	}
	if c.MaxAge, err = env.Duration("CLEANUP_MAX_AGE", 24*time.Hour); err != nil {
		return c, err
	}
	c.Pattern = env.String("CLEANUP_PATTERN", "*")
	if c.Recursive, err = env.Bool("CLEANUP_RECURSIVE", false); err != nil {
		return c, err
	}
	if c.DryRun, err = env.Bool("CLEANUP_DRY_RUN", false); err != nil {
		return c, err
	}
	if c.CreateDir, err = env.Bool("CLEANUP_CREATE_DIR", false); err != nil {
		return c, err
	}
	return c, nil
}

// Result counts what one cleaning did.
type Result struct {
	Removed int   // files removed (or, in a dry run, that would be)
	Bytes   int64 // their total size
	Kept    int   // matching files not old enough
	Failed  int   // files that could not be removed
}

// Cleaner removes old files. It is safe for concurrent use, though the
// runtime never runs two cleanings at once.
type Cleaner struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// New checks cfg (Dir must be a directory, created first when missing and
// CreateDir is set; Pattern a valid pattern; MaxAge positive) and returns a
// Cleaner logging to log (nil discards).
func New(cfg Config, log *slog.Logger) (*Cleaner, error) {
	if _, err := filepath.Match(cfg.Pattern, ""); err != nil {
		return nil, &config.Error{Var: "CLEANUP_PATTERN", Value: cfg.Pattern, Accepted: "a file name pattern such as *.tmp"}
	}
	if cfg.MaxAge <= 0 {
		return nil, &config.Error{Var: "CLEANUP_MAX_AGE", Value: cfg.MaxAge.String(), Accepted: "a positive duration such as 24h"}
	}
	if cfg.CreateDir {
		if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("create cleanup dir: %w", err)
		}
	}
	fi, err := os.Stat(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("cleanup dir: %w", err)
	}
	if !fi.IsDir() {
		return nil, &config.Error{Var: "CLEANUP_DIR", Value: cfg.Dir, Accepted: "a directory"}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cleaner{cfg: cfg, log: log, now: time.Now}, nil
}

// maxErrors bounds the removal errors Clean returns (all are counted).
const maxErrors = 10

// Clean removes the matching regular files older than MaxAge. Symbolic
// links are neither followed nor removed. It stops early, returning what it
// did so far and ctx's error, when ctx is cancelled; a file that could not
// be removed does not stop it, but Clean then returns an error naming the
// first few.
func (c *Cleaner) Clean(ctx context.Context) (Result, error) {
	var res Result
	var errs []error
	cutoff := c.now().Add(-c.cfg.MaxAge)
	err := filepath.WalkDir(c.cfg.Dir, func(path string, d fs.DirEntry, err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if err != nil {
			// An unreadable entry: count it and go on.
			res.Failed++
			errs = append(errs, err)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if path != c.cfg.Dir && !c.cfg.Recursive {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if ok, _ := filepath.Match(c.cfg.Pattern, d.Name()); !ok {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) { // removed meanwhile: fine
				res.Failed++
				errs = append(errs, err)
			}
			return nil
		}
		if !info.ModTime().Before(cutoff) {
			res.Kept++
			return nil
		}
		if c.cfg.DryRun {
			c.log.Info("would remove", "path", path, "age", c.now().Sub(info.ModTime()).Round(time.Second))
		} else if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			res.Failed++
			errs = append(errs, err)
			return nil
		} else {
			c.log.Debug("removed", "path", path)
		}
		res.Removed++
		res.Bytes += info.Size()
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("clean %s: %w", c.cfg.Dir, err)
	}
	if len(errs) > 0 {
		if len(errs) > maxErrors {
			errs = append(errs[:maxErrors], fmt.Errorf("and %d more", len(errs)-maxErrors))
		}
		return res, fmt.Errorf("clean %s: %d files could not be removed: %w", c.cfg.Dir, res.Failed, errors.Join(errs...))
	}
	return res, nil
}
