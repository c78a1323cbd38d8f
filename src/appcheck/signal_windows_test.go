//go:build windows

package appcheck

import "os"

var terminate = os.Kill
