//go:build windows

package main

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// watchParent returns a channel closed when the parent process (splunkd)
// exits, by waiting on a handle to it.
func watchParent(ctx context.Context) <-chan struct{} {
	gone := make(chan struct{})
	h, err := windows.OpenProcess(windows.SYNCHRONIZE, false, uint32(os.Getppid()))
	if err != nil {
		return gone
	}
	go func() {
		defer windows.CloseHandle(h)
		for {
			ev, _ := windows.WaitForSingleObject(h, uint32(parentPollInterval/time.Millisecond))
			if ev == windows.WAIT_OBJECT_0 {
				close(gone)
				return
			}
			select {
			case <-ctx.Done():
				return
			default:
			}
		}
	}()
	return gone
}
