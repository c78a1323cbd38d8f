//go:build !windows

package main

import (
	"context"
	"os"
	"time"
)

// watchParent returns a channel closed when the process is re-parented, which
// on Unix means the parent (splunkd) exited.
func watchParent(ctx context.Context) <-chan struct{} {
	gone := make(chan struct{})
	ppid := os.Getppid()
	if ppid <= 1 {
		return gone // started by init or a container runtime: nothing to watch
	}
	go func() {
		t := time.NewTicker(parentPollInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if os.Getppid() != ppid {
					close(gone)
					return
				}
			}
		}
	}()
	return gone
}
