package checkpoint

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

const (
	readableMax   = 32              // bytes kept from the namespace and from the key in a file name
	lockStripes   = 64              // number of mutexes a FileStore spreads its keys over
	recordExt     = ".json"         // extension of record files
	tempMarker    = ".tmp-"         // marks temporary files: "." + <record file> + ".tmp-" + random
	corruptMarker = ".corrupt-"     // marks files set aside: <record file> + ".corrupt-" + unix seconds
	staleTempAge  = 5 * time.Minute // temporary files older than this are leftovers of a crash
)

// FileStore is a Store that keeps one file per key in a directory, for one namespace. It is safe for
// concurrent use. See the package documentation for the file names, the record format and durability.
type FileStore struct {
	dir       string
	namespace string
	prefix    string // file-name prefix of every record of this namespace
	now       func() time.Time
	seed      maphash.Seed
	locks     [lockStripes]sync.Mutex
	bufs      sync.Pool // *[]byte for encoded records
}

var _ Store = (*FileStore)(nil)

// NewFileStore returns a store for namespace (normally the full stanza name) under dir. It creates dir (mode
// 0700) when it is missing, and removes temporary files this namespace left behind in a crash.
func NewFileStore(dir, namespace string) (*FileStore, error) {
	if dir == "" {
		return nil, errors.New("checkpoint: no checkpoint directory given")
	}
	if !utf8.ValidString(namespace) {
		return nil, fmt.Errorf("checkpoint: namespace %q is not valid UTF-8", namespace)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("checkpoint: create directory: %w", err)
	}
	sum := sha256.Sum256([]byte(namespace))
	s := &FileStore{
		dir:       dir,
		namespace: namespace,
		prefix:    readable(namespace) + "_" + hex.EncodeToString(sum[:4]) + "_",
		now:       time.Now,
		seed:      maphash.MakeSeed(),
	}
	if err := s.removeStaleTemps(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir returns the directory the store writes to.
func (s *FileStore) Dir() string { return s.dir }

// Namespace returns the namespace the store was created for.
func (s *FileStore) Namespace() string { return s.namespace }

// Path returns the file that holds (or would hold) the record for key.
func (s *FileStore) Path(key string) string { return filepath.Join(s.dir, s.fileName(key)) }

// Load implements Store. A file that does not decode as this namespace's record for key is renamed aside and
// reported as a *CorruptError (found is false). If the record is sound but its data does not decode into v,
// Load returns found == true with the decode error and leaves the file alone.
func (s *FileStore) Load(key string, v any) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	name := s.fileName(key)
	path := filepath.Join(s.dir, name)
	mu := s.lock(name)
	mu.Lock()
	b, err := os.ReadFile(path)
	if err != nil {
		mu.Unlock()
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("checkpoint: load %q: %w", key, err)
	}
	rec, err := decodeRecord(b)
	if err == nil && (rec.Namespace != s.namespace || rec.Key != key) {
		err = fmt.Errorf("%w: file holds namespace %q, key %q", errWrongRecord, rec.Namespace, rec.Key)
	}
	if err != nil {
		cerr := s.setAside(path, err)
		mu.Unlock()
		return false, cerr
	}
	mu.Unlock()
	if err := json.Unmarshal(rec.Data, v); err != nil {
		return true, fmt.Errorf("checkpoint: load %q: decode data: %w", key, err)
	}
	return true, nil
}

// Save implements Store: it encodes v, writes the record to a temporary file in the same directory, fsyncs
// it, renames it over the key's file and fsyncs the directory.
func (s *FileStore) Save(key string, v any) error {
	if err := checkKey(key); err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("checkpoint: save %q: encode: %w", key, err)
	}
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	buf := encodeRecord((*bp)[:0], s.namespace, key, s.now(), data)
	name := s.fileName(key)
	mu := s.lock(name)
	mu.Lock()
	err = s.writeAtomic(name, buf)
	mu.Unlock()
	*bp = buf
	s.bufs.Put(bp)
	if err != nil {
		return fmt.Errorf("checkpoint: save %q: %w", key, err)
	}
	return nil
}

// Delete implements Store.
func (s *FileStore) Delete(key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	name := s.fileName(key)
	mu := s.lock(name)
	mu.Lock()
	defer mu.Unlock()
	err := os.Remove(filepath.Join(s.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("checkpoint: delete %q: %w", key, err)
	}
	return nil
}

// Keys implements Store: it lists, sorted, the keys of this namespace that have a sound record. Files that do
// not decode are skipped here (their key cannot be known); Load of their key reports them.
func (s *FileStore) Keys() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: list keys: %w", err)
	}
	keys := []string{}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, s.prefix) || !strings.HasSuffix(name, recordExt) {
			continue
		}
		mu := s.lock(name)
		mu.Lock()
		b, err := os.ReadFile(filepath.Join(s.dir, name))
		mu.Unlock()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted meanwhile
			}
			return nil, fmt.Errorf("checkpoint: list keys: %w", err)
		}
		rec, err := decodeRecord(b)
		if err != nil || rec.Namespace != s.namespace || s.fileName(rec.Key) != name {
			continue
		}
		keys = append(keys, rec.Key)
	}
	sort.Strings(keys)
	return keys, nil
}

// writeAtomic replaces the file name in s.dir with b, durably.
func (s *FileStore) writeAtomic(name string, b []byte) error {
	f, err := os.CreateTemp(s.dir, "."+name+tempMarker+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(s.dir)
}

// setAside moves a corrupt file out of the way, never over an earlier set-aside file, and describes it.
func (s *FileStore) setAside(path string, cause error) *CorruptError {
	base := path + corruptMarker + strconv.FormatInt(s.now().Unix(), 10)
	target := base
	for i := 1; ; i++ {
		if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
			break
		}
		target = base + "-" + strconv.Itoa(i)
	}
	if err := os.Rename(path, target); err != nil {
		return &CorruptError{Path: path, Err: fmt.Errorf("%w (setting it aside failed: %v)", cause, err)}
	}
	_ = syncDir(s.dir)
	return &CorruptError{Path: path, SetAside: target, Err: cause}
}

// removeStaleTemps deletes temporary files of this namespace old enough to be leftovers of a crash.
func (s *FileStore) removeStaleTemps() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("checkpoint: read directory: %w", err)
	}
	cutoff := s.now().Add(-staleTempAge)
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, "."+s.prefix) || !strings.Contains(name, tempMarker) {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(s.dir, name))
		}
	}
	return nil
}

// fileName is the record file name for key in this namespace.
func (s *FileStore) fileName(key string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(s.namespace)))])
	h.Write([]byte(s.namespace))
	h.Write([]byte(key))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return s.prefix + readable(key) + "_" + hex.EncodeToString(sum[:8]) + recordExt
}

// lock returns the mutex guarding the file name.
func (s *FileStore) lock(name string) *sync.Mutex {
	return &s.locks[maphash.String(s.seed, name)%lockStripes]
}

// checkKey rejects keys that would not survive a JSON round trip.
func checkKey(key string) error {
	if !utf8.ValidString(key) {
		return fmt.Errorf("checkpoint: key %q is not valid UTF-8", key)
	}
	return nil
}

// readable keeps the portable characters of s (ASCII letters, digits, '-', '_'), turns every run of other
// bytes into one '_', and cuts the result at readableMax bytes.
func readable(s string) string {
	b := make([]byte, 0, min(len(s), readableMax))
	for i := 0; i < len(s) && len(b) < readableMax; i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			b = append(b, c)
		case len(b) == 0 || b[len(b)-1] != '_':
			b = append(b, '_')
		}
	}
	return string(b)
}
