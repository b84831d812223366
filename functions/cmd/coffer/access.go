package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
)

func accessKeyCommands() *command {
	return &command{name: "accesskey", summary: "create, list, disable and delete access keys", subs: []*command{
		accessKeyCreate(), accessKeyList(),
		accessKeyChange("enable", "EnableAccessKey", "is enabled"),
		accessKeyChange("disable", "DisableAccessKey", "is disabled: its signatures answer Forbidden.AccessKey"),
		accessKeyChange("delete", "DeleteAccessKey", "is deleted"),
	}}
}

func accessKeyCreate() *command {
	return &command{name: "create", summary: "create an access key and print its secret once (extension action CreateAccessKey)",
		help: `Creates an access key. With --admin it may do everything; with --access-point its permissions are
the policies of that application access point. The secret is printed once, on stdout: keep it
then, Coffer stores it only encrypted and never shows it again.`,
		setup: func(fs *flag.FlagSet) runner {
			admin := fs.Bool("admin", false, "an administrator key, with every permission")
			aap := fs.String("access-point", "", "application access point `NAME` whose policies apply to the key")
			desc := fs.String("description", "", "description of the key")
			return func(ctx context.Context, c *cli, args []string) error {
				if !*admin && *aap == "" {
					return usagef("give --admin or --access-point NAME: a key without either may do nothing")
				}
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				body, err := c.call("CreateAccessKey", map[string]string{"Admin": strconv.FormatBool(*admin), "AapName": *aap, "Description": *desc})
				if err != nil {
					return err
				}
				return c.emit(body, func() {
					fmt.Fprintf(c.stdout, "Created an access key. It is shown once; keep it now.\n  AccessKeyId:     %s\n  AccessKeySecret: %s\n", text(body["AccessKeyId"]), text(body["AccessKeySecret"]))
				})
			}
		}}
}

func accessKeyList() *command {
	return &command{name: "list", summary: "list access keys (never their secrets)",
		help: "Lists every access key: id, status, whether it is an admin key, its access point and description.",
		setup: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, c *cli, args []string) error {
				cl, err := c.connectFor(args, 0, "no arguments")
				if err != nil {
					return err
				}
				all, err := cl.callPages("ListAccessKeys", nil, "AccessKeys", "AccessKey")
				if err != nil {
					return err
				}
				return c.printItems(all, []string{"ID", "STATUS", "ADMIN", "ACCESS POINT", "CREATED", "DESCRIPTION"},
					"AccessKeyId", "Status", "Admin", "AapName", "CreateTime", "Description")
			}
		}}
}

// accessKeyChange runs one action that takes only the target key, UserAccessKeyId (AccessKeyId
// there would be the signer's own key to an RPC v1 signature).
func accessKeyChange(name, action, result string) *command {
	return &command{name: name, args: "ID", summary: name + " an access key (extension action " + action + ")",
		help: "Runs " + action + " on access key ID. A key cannot disable or delete itself, so an operator\ndoes not lock themselves out by accident.",
		setup: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 1, "ID"); err != nil {
					return err
				}
				body, err := c.call(action, map[string]string{"UserAccessKeyId": args[0]})
				if err != nil {
					return err
				}
				return c.emit(body, func() { fmt.Fprintf(c.stdout, "Access key %s %s.\n", args[0], result) })
			}
		}}
}
