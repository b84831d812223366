package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/seed-4eefd85e/coffer/core"
)

func instanceCommands() *command {
	return &command{name: "instance", summary: "create, renew and inspect KMS instances", subs: []*command{
		instanceCreate(), instanceGet(), instanceList(), instanceRenew(), instanceRelease(),
	}}
}

// endDate reads --end-date or --days into the protocol's time form.
type endDate struct {
	date string
	days int
}

func (e *endDate) declare(fs *flag.FlagSet, defaultDays int) {
	fs.StringVar(&e.date, "end-date", "", "end of the instance's term, `TIME` as 2006-01-02T15:04:05Z")
	fs.IntVar(&e.days, "days", defaultDays, "end of the term in `N` days from now, when --end-date is not given")
}

// value is "" when neither flag is set and there is no default.
func (e *endDate) value() (string, error) {
	switch {
	case e.date != "":
		return e.date, nil // the server names a bad date precisely
	case e.days < 0:
		return "", usagef("--days must not be negative")
	case e.days == 0:
		return "", nil
	}
	return time.Now().UTC().AddDate(0, 0, e.days).Format("2006-01-02T15:04:05Z"), nil
}

func instanceCreate() *command {
	return &command{name: "create", summary: "create a KMS instance (extension action CreateKmsInstance)",
		help: "Creates a KMS instance that holds keys and secrets until its end date; renew it before then.",
		setup: func(fs *flag.FlagSet) runner {
			name := fs.String("name", "", "instance `NAME`")
			var end endDate
			end.declare(fs, 365)
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				date, err := end.value()
				if err != nil {
					return err
				}
				body, err := c.call("CreateKmsInstance", map[string]string{"KmsInstanceName": *name, "EndDate": date})
				if err != nil {
					return err
				}
				return c.emit(body, func() {
					fmt.Fprintf(c.stdout, "Created KMS instance %s, active until %s.\n", text(body["KmsInstanceId"]), date)
				})
			}
		}}
}

func instanceRenew() *command {
	return &command{name: "renew", args: "ID", summary: "move an instance's end date (extension action RenewKmsInstance)",
		help: "Moves the end date of instance ID; an expired instance within its 15-day grace becomes active again.",
		setup: func(fs *flag.FlagSet) runner {
			var end endDate
			end.declare(fs, 365)
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 1, "ID"); err != nil {
					return err
				}
				date, err := end.value()
				if err != nil {
					return err
				}
				body, err := c.call("RenewKmsInstance", map[string]string{"KmsInstanceId": args[0], "EndDate": date})
				if err != nil {
					return err
				}
				return c.emit(body, func() {
					fmt.Fprintf(c.stdout, "KMS instance %s is active until %s.\n", text(body["KmsInstanceId"]), text(body["EndDate"]))
				})
			}
		}}
}

func instanceGet() *command {
	return &command{name: "get", args: "ID", summary: "show an instance: state, term, numbers of keys and secrets",
		help: "Shows instance ID: its state (Connected, Expired), term, and how many keys and secrets it holds.",
		setup: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 1, "ID"); err != nil {
					return err
				}
				body, err := do(c, (*kms.Client).GetKmsInstanceWithOptions, &kms.GetKmsInstanceRequest{KmsInstanceId: tea.String(args[0])})
				if err != nil {
					return err
				}
				return c.emit(body, func() {
					inst, _ := body["KmsInstance"].(map[string]any)
					c.printFields(inst, "InstanceId", "InstanceName", "Status", "CreateTime", "StartDate", "EndDate", "KeyNum", "SecretNum")
				})
			}
		}}
}

func instanceList() *command {
	return &command{name: "list", summary: "list KMS instances: name, status, end date, days left",
		help: "Lists every KMS instance (all pages) with its name, status, end date and the days left in its term.",
		setup: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, c *cli, args []string) error {
				cl, err := c.connectFor(args, 0, "no arguments")
				if err != nil {
					return err
				}
				ids, err := pages(func(n int32) ([]map[string]any, int, error) {
					body, err := invoke(cl, (*kms.Client).ListKmsInstancesWithOptions, &kms.ListKmsInstancesRequest{PageNumber: tea.Int32(n), PageSize: tea.Int32(100)})
					if err != nil {
						return nil, 0, err
					}
					items, total := page(body, "KmsInstances", "KmsInstance")
					return items, total, nil
				})
				if err != nil {
					return err
				}
				// ListKmsInstances answers ids only, as Alibaba's does; the rest is GetKmsInstance's.
				all := make([]map[string]any, 0, len(ids))
				for _, it := range ids {
					body, err := invoke(cl, (*kms.Client).GetKmsInstanceWithOptions, &kms.GetKmsInstanceRequest{KmsInstanceId: tea.String(text(it["KmsInstanceId"]))})
					if err != nil {
						return err
					}
					inst, _ := body["KmsInstance"].(map[string]any)
					inst["KmsInstanceArn"] = it["KmsInstanceArn"]
					inst["DaysLeft"] = daysLeft(text(inst["EndDate"]), time.Now())
					all = append(all, inst)
				}
				return c.printItems(all, []string{"ID", "NAME", "STATUS", "END DATE", "DAYS LEFT", "ARN"},
					"InstanceId", "InstanceName", "Status", "EndDate", "DaysLeft", "KmsInstanceArn")
			}
		}}
}

// daysLeft is how many whole days of an instance's term remain at now: "0" on its last day,
// "expired" after it.
func daysLeft(end string, now time.Time) string {
	t, err := time.Parse(time.RFC3339, end)
	if err != nil {
		return ""
	}
	if !t.After(now) {
		return "expired"
	}
	return strconv.Itoa(int(t.Sub(now) / (24 * time.Hour)))
}

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

func passwordCommand() *command {
	return &command{name: "password", summary: "print a random password (GetRandomPassword)",
		help: `Prints a random password made by the server, for a value to store:
coffer password | coffer secret put NAME. A newline follows it only when stdout is a terminal, so
a pipe carries exactly the password.`,
		setup: func(fs *flag.FlagSet) runner {
			length := fs.Int("length", 32, "password `LENGTH`, 8 to 128")
			exclude := fs.String("exclude", "", "`CHARACTERS` never to use")
			noPunct := fs.Bool("no-punctuation", false, "no punctuation characters")
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				body, err := do(c, (*kms.Client).GetRandomPasswordWithOptions, &kms.GetRandomPasswordRequest{
					PasswordLength: tea.String(strconv.Itoa(*length)), ExcludeCharacters: optional(*exclude),
					ExcludePunctuation: tea.String(strconv.FormatBool(*noPunct)),
				})
				if err != nil {
					return err
				}
				return c.emit(body, func() {
					// No newline into a pipe, so coffer password | coffer secret create NAME stores
					// exactly the password.
					fmt.Fprint(c.stdout, text(body["RandomPassword"]))
					if c.stdoutTTY {
						fmt.Fprintln(c.stdout)
					}
				})
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
