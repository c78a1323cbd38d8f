package main

import (
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs/alerts"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs/eventhub"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs/incidents"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs/storage"
)

// kinds lists the add-on's inputs explicitly; there is no registration.
func kinds() []inputs.Kind {
	return []inputs.Kind{
		incidents.Kind(),
		alerts.Kind(),
		eventhub.Kind(),
		storage.Kind(),
	}
}
