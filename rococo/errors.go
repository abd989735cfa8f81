package rococo

import "errors"

// PermanentError marks a failure that retrying cannot fix. The runtime moves
// such a message to the dead-letter queue at once.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *PermanentError) Unwrap() error { return e.Err }

var _ error = (*PermanentError)(nil)

// Permanent wraps err so that IsPermanent reports true for it and for any
// error wrapping it. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err or any error it wraps was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}
