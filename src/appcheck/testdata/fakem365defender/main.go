// Command fakem365defender stands in for the real binary in appcheck's
// tests: it answers "<scheme> --scheme" with a scheme whose arguments are the
// parameter contracts of issues 3, 4 and 5, and records its arguments and
// process id when FAKE_M365_RECORD names a file.
package main

import (
	"fmt"
	"os"
	"strings"
)

// version is stamped like the real binary's: -ldflags "-X main.version=...".
var version = "dev"

var entra = []string{"tenant_id", "client_id", "client_secret", "client_certificate", "environment"}

var schemes = map[string][]string{
	"m365_defender_incidents": join(entra, "api", "start_date", "expand_alerts", "login_url", "api_url", "proxy_url", "ca_file", "log_level"),
	"m365_defender_alerts":    join(entra, "api", "start_date", "login_url", "api_url", "proxy_url", "ca_file", "log_level"),
	"m365_defender_eventhub": join([]string{"connection_string", "namespace", "event_hub"}, append(entra, "consumer_group", "checkpoint_store",
		"storage_connection_string", "storage_account_url", "storage_container", "start_position", "transport",
		"max_batch_size", "max_wait_seconds", "proxy_url", "log_level")...),
	"m365_defender_storage": join([]string{"connection_string", "account_url"}, append(entra, "container_prefix", "start_date", "proxy_url", "ca_file", "log_level")...),
}

func join(a []string, b ...string) []string { return append(append([]string(nil), a...), b...) }

func main() {
	if rec := os.Getenv("FAKE_M365_RECORD"); rec != "" {
		line := fmt.Sprintf("pid=%d args=%s\n", os.Getpid(), strings.Join(os.Args[1:], " "))
		if err := os.WriteFile(rec, []byte(line), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "ERROR msg=\"record\" error="+err.Error())
			os.Exit(3)
		}
	}
	if len(os.Args) == 3 && os.Args[2] == "--scheme" {
		args, ok := schemes[os.Args[1]]
		if !ok {
			fmt.Fprintf(os.Stderr, "FATAL msg=\"no such modular input scheme\" scheme=%s\n", os.Args[1])
			os.Exit(1)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "<scheme><title>%s</title><description>fake</description>", os.Args[1])
		b.WriteString("<use_external_validation>true</use_external_validation><use_single_instance>false</use_single_instance>")
		b.WriteString("<streaming_mode>xml</streaming_mode><endpoint><args>")
		for _, a := range args {
			typ := "string"
			switch a {
			case "expand_alerts":
				typ = "boolean"
			case "max_batch_size", "max_wait_seconds":
				typ = "number"
			}
			fmt.Fprintf(&b, `<arg name="%s"><title>%s</title><data_type>%s</data_type><required_on_edit>false</required_on_edit><required_on_create>false</required_on_create></arg>`, a, a, typ)
		}
		b.WriteString("</args></endpoint></scheme>\n")
		os.Stdout.WriteString(b.String())
		return
	}
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println(version)
		return
	}
	fmt.Fprintf(os.Stderr, "INFO msg=\"fake run\" args=%q\n", os.Args[1:])
	os.Exit(7)
}
