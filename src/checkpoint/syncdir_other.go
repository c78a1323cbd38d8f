//go:build !windows

package checkpoint

import "os"

// syncDir fsyncs a directory so that a rename or removal in it survives a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
