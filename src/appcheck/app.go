package appcheck

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// File is one entry of an app: a packaged tar entry or a file of a source tree.
type File struct {
	// Path is relative to the app folder, slash-separated ("default/app.conf").
	Path string
	Mode fs.FileMode // type and permission bits
	Size int64
	// Data holds the contents of regular files up to maxKeep bytes that are
	// not platform binaries; nil otherwise.
	Data []byte
	// Head holds the first bytes of every regular file (for magic numbers).
	Head []byte
	// Tar header facts, for packaged apps only.
	Uid, Gid     int
	Uname, Gname string
	Format       tar.Format
	Typeflag     byte
}

// App is an app loaded from a package or from a source tree.
type App struct {
	// Folder is the top folder of the package ("TA-m365-defender"), or the
	// base name of the source tree.
	Folder string
	// Files sorted by Path; directories included for packages.
	Files []*File
	// Packaged is true when the app came from a .tgz: structure and
	// permission checks apply.
	Packaged bool
	// TopLevel lists the distinct first path components of a package.
	TopLevel []string
	// Outside lists entries that escape the app folder ("../x", "/etc/x").
	Outside []string
	// BinDir, when not empty, is a directory holding bin/ as packaged
	// (launchers and the binary for this machine), to run --scheme.
	BinDir string

	byPath map[string]*File
}

// File returns the file at p (relative to the app folder), or nil.
func (a *App) File(p string) *File { return a.byPath[p] }

// Glob returns the regular files whose path matches pattern (path.Match).
func (a *App) Glob(pattern string) []*File {
	var out []*File
	for _, f := range a.Files {
		if ok, _ := path.Match(pattern, f.Path); ok && f.Mode.IsRegular() {
			out = append(out, f)
		}
	}
	return out
}

const (
	maxKeep = 4 << 20 // contents kept in memory per file
	headLen = 512
)

// isPlatformBinary reports whether p is a compiled binary location:
// bin/<platform>/<file>.
func isPlatformBinary(p string) bool {
	parts := strings.Split(p, "/")
	return len(parts) == 3 && parts[0] == "bin"
}

// LoadPackage reads a .tgz/.spl package. The launchers and the binary built
// for hostPlatform (e.g. "linux_x86_64"; "" for none) are extracted to a
// temporary directory (App.BinDir) so the checks can run --scheme; call
// Close to remove it.
func LoadPackage(file, hostPlatform string) (*App, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("appcheck: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("appcheck: %s is not a gzip-compressed tar: %w", file, err)
	}
	defer zr.Close()
	return readTar(tar.NewReader(zr), hostPlatform)
}

func readTar(tr *tar.Reader, hostPlatform string) (app *App, err error) {
	app = &App{Packaged: true, byPath: map[string]*File{}}
	defer func() {
		if err != nil {
			app.Close()
		}
	}()
	tops := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("appcheck: reading package: %w", err)
		}
		name := h.Name
		clean := path.Clean(strings.TrimPrefix(name, "./"))
		if path.IsAbs(name) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(name, `\`) {
			app.Outside = append(app.Outside, name)
			continue
		}
		top, rest, _ := strings.Cut(clean, "/")
		tops[top] = true
		if app.Folder == "" {
			app.Folder = top
		}
		if top != app.Folder {
			continue // reported through TopLevel
		}
		fi := h.FileInfo()
		file := &File{
			Path: rest, Mode: fi.Mode(), Size: h.Size,
			Uid: h.Uid, Gid: h.Gid, Uname: h.Uname, Gname: h.Gname,
			Format: h.Format, Typeflag: h.Typeflag,
		}
		if h.Typeflag == tar.TypeReg {
			if err := app.readContent(file, tr, hostPlatform); err != nil {
				return nil, err
			}
		}
		if prev := app.byPath[rest]; prev != nil {
			// A duplicate entry: the later one wins on extraction.
			*prev = *file
			continue
		}
		app.byPath[rest] = file
		app.Files = append(app.Files, file)
	}
	for t := range tops {
		app.TopLevel = append(app.TopLevel, t)
	}
	sort.Strings(app.TopLevel)
	sort.Slice(app.Files, func(i, j int) bool { return app.Files[i].Path < app.Files[j].Path })
	return app, nil
}

func (a *App) readContent(file *File, r io.Reader, hostPlatform string) error {
	keepOnDisk := strings.HasPrefix(file.Path, "bin/") &&
		((!isPlatformBinary(file.Path) && strings.HasSuffix(file.Path, ".sh")) ||
			(hostPlatform != "" && strings.HasPrefix(file.Path, "bin/"+hostPlatform+"/")))
	if !isPlatformBinary(file.Path) && file.Size <= maxKeep {
		b, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("appcheck: reading %s: %w", file.Path, err)
		}
		file.Data = b
		file.Head = b[:min(len(b), headLen)]
		if keepOnDisk {
			return a.writeBin(file.Path, b, file.Mode)
		}
		return nil
	}
	head := make([]byte, headLen)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("appcheck: reading %s: %w", file.Path, err)
	}
	file.Head = head[:n]
	if !keepOnDisk {
		return nil
	}
	if err := a.ensureBinDir(); err != nil {
		return err
	}
	dst := filepath.Join(a.BinDir, filepath.FromSlash(strings.TrimPrefix(file.Path, "bin/")))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("appcheck: %w", err)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return fmt.Errorf("appcheck: %w", err)
	}
	if _, err := out.Write(file.Head); err != nil {
		out.Close()
		return fmt.Errorf("appcheck: extracting %s: %w", file.Path, err)
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return fmt.Errorf("appcheck: extracting %s: %w", file.Path, err)
	}
	return out.Close()
}

func (a *App) ensureBinDir() error {
	if a.BinDir != "" {
		return nil
	}
	dir, err := os.MkdirTemp("", "appcheck-bin-")
	if err != nil {
		return fmt.Errorf("appcheck: %w", err)
	}
	a.BinDir = dir
	return nil
}

func (a *App) writeBin(p string, b []byte, mode fs.FileMode) error {
	if err := a.ensureBinDir(); err != nil {
		return err
	}
	dst := filepath.Join(a.BinDir, filepath.FromSlash(strings.TrimPrefix(p, "bin/")))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("appcheck: %w", err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		return fmt.Errorf("appcheck: %w", err)
	}
	return nil
}

// Close removes the temporary directory of extracted binaries, if any.
func (a *App) Close() error {
	if a == nil || a.BinDir == "" {
		return nil
	}
	err := os.RemoveAll(a.BinDir)
	a.BinDir = ""
	return err
}

// SourcePaths are the paths of a source tree that make up the app, as the
// Makefile's package target stages them.
var SourcePaths = []string{
	"app.manifest", "LICENSE", "README.md", "README", "default", "metadata",
	"static", "appserver", "lookups", "bin/*.sh", "bin/*.cmd",
}

// LoadTree reads the app files of a source tree (the repository root):
// only SourcePaths, so src/, tests and node modules are left out. Structure
// and permission checks do not apply to a tree.
func LoadTree(root string) (*App, error) {
	app := &App{Folder: filepath.Base(root), byPath: map[string]*File{}}
	add := func(p string, d fs.DirEntry) error {
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		f := &File{Path: filepath.ToSlash(rel), Mode: info.Mode(), Size: info.Size()}
		if info.Mode().IsRegular() && !isPlatformBinary(f.Path) && info.Size() <= maxKeep {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			f.Data = b
			f.Head = b[:min(len(b), headLen)]
		}
		if _, dup := app.byPath[f.Path]; !dup {
			app.byPath[f.Path] = f
			app.Files = append(app.Files, f)
		}
		return nil
	}
	for _, pat := range SourcePaths {
		matches, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(pat)))
		if err != nil {
			return nil, fmt.Errorf("appcheck: %w", err)
		}
		for _, m := range matches {
			err := filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() && p != m && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir // editor and VCS state is not part of the app
				}
				if d.IsDir() && filepath.Base(p) == "local" && filepath.Dir(p) == root {
					return filepath.SkipDir
				}
				return add(p, d)
			})
			if err != nil {
				return nil, fmt.Errorf("appcheck: %w", err)
			}
		}
	}
	sort.Slice(app.Files, func(i, j int) bool { return app.Files[i].Path < app.Files[j].Path })
	return app, nil
}
