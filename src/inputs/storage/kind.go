package storage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// Scheme is the introspection scheme of m365_defender_storage.
func Scheme() modinput.Scheme {
	args := []modinput.Arg{
		{Name: ParamConnectionString, Title: "Storage connection string",
			Description: "Connection string of the storage account the Streaming API exports to (AccountName=...;AccountKey=... or a SAS). Stored encrypted. Leave empty to use account_url with Entra ID credentials.",
			DataType:    modinput.String},
		{Name: ParamAccountURL, Title: "Storage account URL",
			Description: "Blob endpoint, e.g. https://<account>.blob.core.windows.net, used with the Entra ID app credentials (role Storage Blob Data Reader).",
			DataType:    modinput.String},
		{Name: ParamContainerPrefix, Title: "Container prefix",
			Description: "Every container whose name starts with this prefix is read, so new tables are picked up automatically. Default: " + DefaultContainerPrefix + ".",
			DataType:    modinput.String},
		{Name: ParamStartDate, Title: "Start date",
			Description: "RFC 3339 time; blobs of older hours are skipped when there is no checkpoint. Default: 24 hours before the first run.",
			DataType:    modinput.String},
	}
	args = append(args, inputs.EntraArgs(false)...)
	args = append(args, inputs.ProxyArgs()...)
	args = append(args, inputs.LogLevelArg())
	return modinput.Scheme{
		Title:                 "Microsoft Defender XDR streaming events (Azure Storage)",
		Description:           "Advanced Hunting events exported by the Defender XDR Streaming API to an Azure Storage account.",
		UseExternalValidation: true,
		UseSingleInstance:     false,
		StreamingMode:         "xml",
		Args:                  args,
	}
}

// Kind wires the input into the engine: one poll per launch.
func Kind() inputs.Kind {
	return inputs.Kind{
		Scheme:  Scheme(),
		Name:    SchemeName,
		Polling: true,
		Validate: func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error {
			cfg, err := configFromRuntime(ctx, rt, st)
			if err != nil {
				return err
			}
			return New(cfg, rt).Validate(ctx)
		},
		Run: func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error {
			cfg, err := configFromRuntime(ctx, rt, st)
			if err != nil {
				return err
			}
			return New(cfg, rt).Run(ctx)
		},
	}
}

// configFromRuntime resolves the secret parameters and parses the stanza.
func configFromRuntime(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) (Config, error) {
	resolved := st
	resolved.Params = maps.Clone(st.Params)
	if resolved.Params == nil {
		resolved.Params = map[string]string{}
	}
	for _, p := range []string{ParamConnectionString, ParamClientSecret} {
		if st.Param(p) == "" {
			continue
		}
		v, err := rt.Secret(ctx, st, p)
		if err != nil {
			return Config{}, err // names the stanza and the parameter
		}
		resolved.Params[p] = v
	}
	return NewConfig(resolved)
}

// Validate checks the configuration against the storage account: it lists
// the containers with the prefix (and the folders of the first one) and
// fails with a message naming the parameter to fix.
func (in *Input) Validate(ctx context.Context) error {
	if err := in.connect(); err != nil {
		return err
	}
	in.retry.attempts = 2
	credParam := ParamConnectionString
	if in.cfg.ConnectionString == "" {
		credParam = ParamAccountURL
	}
	var names []string
	err := in.retry.do(ctx, fmt.Sprintf("listing containers with prefix %q", in.cfg.ContainerPrefix), nil, func(ctx context.Context) error {
		var err error
		names, err = in.svc.ListContainers(ctx, in.cfg.ContainerPrefix)
		return err
	})
	if err != nil {
		return in.paramErrorFor(credParam, err)
	}
	if len(names) > 0 {
		err := in.retry.do(ctx, fmt.Sprintf("listing blobs in container %q", names[0]), nil, func(ctx context.Context) error {
			_, err := in.svc.Container(names[0]).ListPrefixes(ctx, "")
			return err
		})
		if err != nil {
			return in.paramErrorFor(credParam, err)
		}
	}
	shown := names
	if len(shown) > 20 {
		shown = shown[:20]
	}
	in.log.Info("storage account reachable", "containers", len(names), "container_names", strings.Join(shown, ","), "container_prefix", in.cfg.ContainerPrefix)
	return nil
}

// paramErrorFor turns a live-check failure into a ParamError on the
// parameter most likely at fault.
func (in *Input) paramErrorFor(credParam string, err error) error {
	e := classify("checking the storage account", err)
	param := credParam
	if e.Kind == kindAuth && in.cfg.ConnectionString == "" {
		switch e.Code {
		case "AADSTS90002", "AADSTS900023":
			param = ParamTenantID
		case "AADSTS700016":
			param = ParamClientID
		case "AADSTS7000215", "AADSTS7000222":
			param = ParamClientSecret
		default:
			if in.cfg.Entra.CertificateFile != "" {
				param = ParamClientCert
			} else {
				param = ParamClientSecret
			}
		}
	}
	return modinputParamError(in.cfg.Stanza, param, errors.New(in.redact(strings.TrimPrefix(e.Error(), "storage: "))))
}

func modinputParamError(stanza, param string, err error) error {
	return modinput.Stanza{Name: stanza}.Errorf(param, "%v", err)
}
