package eventhub

import (
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// Scheme name, default sourcetype and checkpoint container.
const (
	SchemeName        = "m365_defender_eventhub"
	DefaultSourcetype = "ms:defender:eventhub"
	DefaultContainer  = "m365-defender-checkpoints"
)

// Config is one m365_defender_eventhub stanza. Secret parameters are kept as
// configured (clear or masked) and resolved when the input runs.
type Config struct {
	Stanza modinput.Stanza

	ConnectionString string // may be the mask; resolved by Run
	Namespace        string // fully qualified, for Entra ID authentication
	EventHub         string
	Entra            inputs.EntraConfig
	ConsumerGroup    string

	CheckpointStore         string // "local" or "blob"
	StorageConnectionString string // may be the mask
	StorageAccountURL       string
	StorageContainer        string

	StartPosition string // "earliest" or "latest"
	Transport     string // "amqp" or "websockets"
	MaxBatchSize  int
	MaxWait       time.Duration
	ProxyURL      string

	// StatsInterval is how often the per-partition INFO line is written.
	StatsInterval time.Duration
}

// NewConfig reads and validates a stanza.
func NewConfig(st modinput.Stanza) (Config, error) {
	c := Config{
		Stanza:                  st,
		ConnectionString:        st.Param("connection_string"),
		Namespace:               st.Param("namespace"),
		EventHub:                st.Param("event_hub"),
		StorageConnectionString: st.Param("storage_connection_string"),
		StorageAccountURL:       st.Param("storage_account_url"),
		StorageContainer:        st.Param("storage_container"),
		ProxyURL:                st.Param("proxy_url"),
		ConsumerGroup:           st.Param("consumer_group"),
		StatsInterval:           5 * time.Minute,
	}
	if c.ConsumerGroup == "" {
		c.ConsumerGroup = azeventhubs.DefaultConsumerGroup
	}
	if c.StorageContainer == "" {
		c.StorageContainer = DefaultContainer
	}
	if c.ConnectionString == "" && c.Namespace == "" {
		return c, c.Validate()
	}
	var err error
	if c.Entra, err = inputs.EntraFromStanza(st, c.ConnectionString == ""); err != nil {
		return c, err
	}
	if c.CheckpointStore, err = st.OneOf("checkpoint_store", "local", "local", "blob"); err != nil {
		return c, err
	}
	if c.StartPosition, err = st.OneOf("start_position", "earliest", "earliest", "latest"); err != nil {
		return c, err
	}
	if c.Transport, err = st.OneOf("transport", "amqp", "amqp", "websockets"); err != nil {
		return c, err
	}
	if c.MaxBatchSize, err = st.Int("max_batch_size", 500, 1, 5000); err != nil {
		return c, err
	}
	wait, err := st.Int("max_wait_seconds", 5, 1, 300)
	if err != nil {
		return c, err
	}
	c.MaxWait = time.Duration(wait) * time.Second
	return c, c.Validate()
}

// Validate checks the combination of parameters. A connection string that is
// still clear is checked too; a masked one is checked once resolved.
func (c Config) Validate() error {
	st := c.Stanza
	switch {
	case c.ConnectionString == "" && c.Namespace == "":
		return st.Errorf("connection_string", "is required, unless namespace and event_hub are set with Entra ID credentials (tenant_id, client_id, client_secret or client_certificate)")
	case c.ConnectionString == "" && c.EventHub == "":
		return st.Errorf("event_hub", "is required with namespace")
	case c.ConnectionString != "" && c.ConnectionString != modinput.Mask:
		if _, err := c.hubFromConnectionString(c.ConnectionString); err != nil {
			return err
		}
	}
	if c.Namespace != "" && (strings.ContainsAny(c.Namespace, "/;@ ") || strings.Count(c.Namespace, ":") > 1) {
		return st.Errorf("namespace", "expected a fully qualified namespace such as contoso.servicebus.windows.net (optionally with :port), got %q", c.Namespace)
	}
	if c.CheckpointStore == "blob" {
		if c.StorageConnectionString == "" && c.StorageAccountURL == "" {
			return st.Errorf("storage_connection_string", "is required with checkpoint_store = blob, unless storage_account_url is set with Entra ID credentials")
		}
		if c.StorageConnectionString == "" && c.Entra.TenantID == "" {
			return st.Errorf("storage_account_url", "needs the Entra ID credentials (tenant_id, client_id, client_secret or client_certificate)")
		}
		if c.StorageAccountURL != "" {
			if _, err := inputs.URLParam(st, "storage_account_url"); err != nil {
				return err
			}
		}
		if !validContainer(c.StorageContainer) {
			return st.Errorf("storage_container", "expected 3-63 lower-case letters, digits and single hyphens, starting with a letter or digit, got %q", c.StorageContainer)
		}
	}
	if c.Transport == "websockets" && c.ConnectionString != "" && c.ConnectionString != modinput.Mask {
		if props, _ := azeventhubs.ParseConnectionString(c.ConnectionString); props.Emulator {
			return st.Errorf("transport", "websockets cannot be used with a development-emulator connection string")
		}
	}
	return nil
}

// hubFromConnectionString checks a clear connection string (the emulator only
// on loopback, an entity path or event_hub) and returns the hub name. Its
// errors never quote the string.
func (c Config) hubFromConnectionString(cs string) (string, error) {
	st := c.Stanza
	props, err := azeventhubs.ParseConnectionString(cs)
	if err != nil {
		return "", st.Errorf("connection_string", "is not an Event Hubs connection string (expected Endpoint=sb://<namespace>/;SharedAccessKeyName=<rule>;SharedAccessKey=<key>[;EntityPath=<hub>])")
	}
	if props.Emulator {
		if host := hostOf(props.FullyQualifiedNamespace); !inputs.IsLoopback(host) {
			return "", st.Errorf("connection_string", "UseDevelopmentEmulator=true (plain AMQP without TLS) is accepted only for loopback hosts, not %q", host)
		}
	}
	hub := c.EventHub
	if props.EntityPath != nil && *props.EntityPath != "" {
		if hub != "" && hub != *props.EntityPath {
			return "", st.Errorf("event_hub", "is %q but the connection string's EntityPath is %q", hub, *props.EntityPath)
		}
		hub = *props.EntityPath
	}
	if hub == "" {
		return "", st.Errorf("event_hub", "is required: the connection string has no EntityPath")
	}
	return hub, nil
}

func validContainer(name string) bool {
	if len(name) < 3 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' || strings.Contains(name, "--") {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// Scheme is the m365_defender_eventhub introspection scheme.
func Scheme() modinput.Scheme {
	args := []modinput.Arg{
		{Name: "connection_string", Title: "Connection string", Description: "Event Hubs connection string (SAS) with listen rights, with EntityPath or together with event_hub. Moved into storage/passwords on first run and shown as ********."},
		{Name: "namespace", Title: "Namespace", Description: "Fully qualified Event Hubs namespace (e.g. contoso.servicebus.windows.net), for Entra ID authentication instead of a connection string."},
		{Name: "event_hub", Title: "Event hub", Description: "Event hub name, when the connection string has no EntityPath or with namespace."},
	}
	args = append(args, inputs.EntraArgs(false)...)
	args = append(args,
		modinput.Arg{Name: "consumer_group", Title: "Consumer group", Description: "Consumer group to read with; default $Default. Give each Splunk deployment its own."},
		modinput.Arg{Name: "checkpoint_store", Title: "Checkpoint store", Description: "local (default: files in the input's checkpoint directory; one forwarder owns every partition) or blob (a storage container shared by several forwarders, which then split the partitions)."},
		modinput.Arg{Name: "storage_connection_string", Title: "Storage connection string", Description: "For checkpoint_store = blob: the storage account's connection string. Moved into storage/passwords and shown as ********."},
		modinput.Arg{Name: "storage_account_url", Title: "Storage account URL", Description: "For checkpoint_store = blob with Entra ID credentials: e.g. https://contoso.blob.core.windows.net (role Storage Blob Data Contributor)."},
		modinput.Arg{Name: "storage_container", Title: "Checkpoint container", Description: "Blob container for checkpoints and ownership; default m365-defender-checkpoints, created if missing."},
		modinput.Arg{Name: "start_position", Title: "Start position", Description: "earliest (default) or latest: where a partition with no checkpoint starts."},
		modinput.Arg{Name: "transport", Title: "Transport", Description: "amqp (default, port 5671) or websockets (AMQP over WebSockets on port 443, through proxy_url)."},
		modinput.Arg{Name: "max_batch_size", Title: "Max batch size", Description: "Event Hub events (messages, each holding many records) per receive call; 1-5000, default 500.", DataType: modinput.Number},
		modinput.Arg{Name: "max_wait_seconds", Title: "Max wait (seconds)", Description: "Longest wait for a batch to fill before what arrived is written; 1-300, default 5.", DataType: modinput.Number},
		modinput.Arg{Name: "proxy_url", Title: "Proxy URL", Description: "HTTPS proxy for the websockets transport and the blob checkpoint store."},
		inputs.LogLevelArg(),
	)
	return modinput.Scheme{
		Title:                 "Microsoft Defender XDR: Event Hub (streaming Advanced Hunting)",
		Description:           "Streams Microsoft Defender XDR Advanced Hunting events that the Streaming API sends to an Azure Event Hub. Runs continuously (interval 0).",
		UseExternalValidation: true,
		StreamingMode:         "xml",
		Args:                  args,
	}
}

func (c Config) String() string {
	return fmt.Sprintf("eventhub config %s (consumer group %s, %s checkpoints)", c.Stanza.Name, c.ConsumerGroup, c.CheckpointStore)
}
