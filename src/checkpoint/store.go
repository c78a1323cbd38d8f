package checkpoint

import (
	"errors"
	"fmt"
)

// Store keeps checkpoint values under string keys. Implementations are safe for concurrent use.
type Store interface {
	// Load JSON-decodes the value saved under key into v. It reports found == false with a nil error when
	// nothing is saved under key. A corrupt record is reported as a *CorruptError.
	Load(key string, v any) (found bool, err error)
	// Save stores v, encoded with encoding/json, under key, replacing any previous value atomically.
	Save(key string, v any) error
	// Delete removes the value saved under key. Deleting a missing key is not an error.
	Delete(key string) error
	// Keys lists the keys that have a value, in no particular order.
	Keys() ([]string, error)
}

// ErrCorrupt is matched by errors.Is for every *CorruptError.
var ErrCorrupt = errors.New("checkpoint: corrupt record")

// CorruptError reports a checkpoint file that could not be read back as a valid record. The file was renamed
// aside, not deleted, so an administrator can inspect it.
type CorruptError struct {
	// Path is the checkpoint file that was found corrupt.
	Path string
	// SetAside is where the file was moved to; it is empty if the rename failed (the file then stays at Path).
	SetAside string
	// Err says what is wrong with the record.
	Err error
}

// Error names the file, where it went and what is wrong with it.
func (e *CorruptError) Error() string {
	if e.SetAside == "" {
		return fmt.Sprintf("checkpoint: corrupt record %s (could not set it aside): %v", e.Path, e.Err)
	}
	return fmt.Sprintf("checkpoint: corrupt record %s (set aside as %s): %v", e.Path, e.SetAside, e.Err)
}

// Unwrap returns the underlying decode error.
func (e *CorruptError) Unwrap() error { return e.Err }

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }
