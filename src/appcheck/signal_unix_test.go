//go:build !windows

package appcheck

import "syscall"

var terminate = syscall.SIGTERM
