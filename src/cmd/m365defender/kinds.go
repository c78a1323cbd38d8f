package main

import (
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
)

// kinds lists the add-on's inputs explicitly; there is no registration.
func kinds() []inputs.Kind {
	return []inputs.Kind{}
}
