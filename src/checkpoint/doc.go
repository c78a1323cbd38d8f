// Package checkpoint stores an input's progress (cursors, offsets, watermarks) so that a restarted input resumes
// where the last one stopped.
//
// A [Store] holds JSON-encodable values under string keys. [FileStore] keeps them as one file per key in a
// modular input's checkpoint_dir. splunkd gives every stanza of a scheme the same directory, so a FileStore is
// created for one namespace (the full stanza name, for example "m365_defender_incidents://prod") and its file
// names are derived from both the namespace and the key.
//
// # File names
//
// A file name is a readable, sanitised part of the namespace, a short SHA-256 hash of the namespace, a readable
// part of the key and a short SHA-256 hash of namespace and key together:
//
//	m365_defender_incidents_prod_c4b9d1ee_cursor_aceeecb6f71d5c94.json
//
// Only ASCII letters, digits, '-' and '_' are kept from the readable parts (every run of other bytes becomes one
// '_', and each part is cut at 32 bytes), so any namespace or key that is valid UTF-8 works on Linux, Windows and macOS,
// including keys with '/', ':', '\', spaces or names Windows reserves (CON, NUL, ...). Names that differ only in
// letter case get different hashes, so case-insensitive file systems keep them apart.
//
// # Record format
//
// Each file holds one versioned JSON record:
//
//	{"version":1,"namespace":"m365_defender_incidents://prod","key":"cursor","saved":"2026-12-04T15:04:05.123456789Z","data":{...}}
//
// data is the value given to Save, encoded with encoding/json. A record whose version is unknown, whose
// namespace or key is not the one its file name stands for, or that is not valid JSON is corrupt.
//
// # Durability
//
// Save writes the record to a temporary file in the same directory, fsyncs it, renames it over the old file and
// fsyncs the directory (the last step is skipped on Windows, which cannot sync a directory). A crash at any
// moment therefore leaves either the previous record or the new one, plus at worst a stray temporary file. Load
// never reads temporary files; NewFileStore removes the stale ones of its namespace.
//
// A corrupt file is never silently reset: Load renames it aside (to <file>.corrupt-<unix seconds>) and returns
// a [*CorruptError] naming both paths. The caller decides whether to start over or stop; the next Load of the
// same key then finds nothing.
//
// One process writes a namespace at a time (splunkd runs one process per stanza); within a process a FileStore
// is safe for concurrent use by many goroutines, for distinct keys and for the same key.
package checkpoint
