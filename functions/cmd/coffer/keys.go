package main

import (
	"context"
	"flag"
	"fmt"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/seed-4eefd85e/coffer/core"
)

func keyCommands() *command {
	return &command{name: "key", summary: "create and inspect encryption keys", subs: []*command{
		keyCreate(), keyList(), keyDescribe(), keyState("enable", "EnableKey"), keyState("disable", "DisableKey"),
	}}
}

var keyFields = []string{"KeyId", "KeyState", "DKMSInstanceId", "Description", "KeySpec", "CreationDate", "PrimaryKeyVersion", "Arn"}

func keyCreate() *command {
	return &command{name: "create", summary: "create an AES-256 key in an instance",
		help: "Creates a symmetric AES-256 key in --instance (or in the shared pool without it).",
		setup: func(fs *flag.FlagSet) runner {
			instance := fs.String("instance", "", "KMS instance `ID` (kst-...)")
			desc := fs.String("description", "", "description of the key")
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				body, err := do(c, (*kms.Client).CreateKeyWithOptions, &kms.CreateKeyRequest{DKMSInstanceId: optional(*instance), Description: optional(*desc)})
				if err != nil {
					return err
				}
				return c.emit(body, func() {
					meta, _ := body["KeyMetadata"].(map[string]any)
					c.printFields(meta, keyFields...)
				})
			}
		}}
}

func keyDescribe() *command {
	return &command{name: "describe", args: "ID", summary: "show a key's metadata",
		help: "Shows key ID: state, instance, spec, creation date and primary version.",
		setup: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 1, "ID"); err != nil {
					return err
				}
				body, err := do(c, (*kms.Client).DescribeKeyWithOptions, &kms.DescribeKeyRequest{KeyId: tea.String(args[0])})
				if err != nil {
					return err
				}
				return c.emit(body, func() {
					meta, _ := body["KeyMetadata"].(map[string]any)
					c.printFields(meta, keyFields...)
				})
			}
		}}
}

func keyList() *command {
	return &command{name: "list", summary: "list keys",
		help: "Lists every key (all pages).",
		setup: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				all, err := listAll(c, (*kms.Client).ListKeysWithOptions, func(n int32) *kms.ListKeysRequest {
					return &kms.ListKeysRequest{PageNumber: tea.Int32(n), PageSize: tea.Int32(100)}
				}, "Keys", "Key")
				if err != nil {
					return err
				}
				return c.printItems(all, []string{"ID", "ARN"}, "KeyId", "KeyArn")
			}
		}}
}

// keyState enables or disables a key; a disabled key neither encrypts nor decrypts.
func keyState(name, action string) *command {
	help := "Runs " + action + " on key ID. A disabled key neither encrypts new values nor decrypts stored ones:\nits secrets answer Rejected.Disabled until the key is enabled again."
	if action == "DisableKey" {
		help += "\nThe shared pool's key (" + core.DefaultKeyID + ") protects every secret created without an\ninstance: disabling it needs --force."
	}
	return &command{name: name, args: "ID", summary: name + " a key (" + action + ")", help: help,
		setup: func(fs *flag.FlagSet) runner {
			var force *bool
			if action == "DisableKey" {
				force = fs.Bool("force", false, "disable the shared pool's key "+core.DefaultKeyID+" too")
			}
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 1, "ID"); err != nil {
					return err
				}
				var body map[string]any
				var err error
				switch {
				case action == "EnableKey":
					body, err = do(c, (*kms.Client).EnableKeyWithOptions, &kms.EnableKeyRequest{KeyId: tea.String(args[0])})
				case args[0] == core.DefaultKeyID && !*force:
					return usagef("%s is the shared pool's key: every secret created without an instance stops reading until it is enabled again; add --force to disable it", args[0])
				default:
					body, err = do(c, (*kms.Client).DisableKeyWithOptions, &kms.DisableKeyRequest{KeyId: tea.String(args[0])})
				}
				if err != nil {
					return err
				}
				return c.emit(body, func() { fmt.Fprintf(c.stdout, "Key %s is %sd.\n", args[0], name) })
			}
		}}
}
