package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
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

func instanceRelease() *command {
	return &command{name: "release", args: "ID", summary: "delete an instance with its keys and secrets (extension action ReleaseKmsInstance)",
		help: `Deletes instance ID with every key and secret in it. The server refuses unless a backup of the
instance exists that is recent enough to restore it ('coffer backup create --instance ID');
--no-backup releases without one, and nothing can bring the data back.`,
		setup: func(fs *flag.FlagSet) runner {
			force := fs.Bool("no-backup", false, "release even without a backup; the data is lost")
			return func(ctx context.Context, c *cli, args []string) error {
				cl, err := c.connectFor(args, 1, "ID")
				if err != nil {
					return err
				}
				stop := spin(c, "releasing "+args[0])
				body, err := cl.call("ReleaseKmsInstance", map[string]string{"KmsInstanceId": args[0], "ForceDeleteWithoutBackup": strconv.FormatBool(*force)})
				stop()
				if err != nil {
					return err
				}
				return c.emit(body, func() { fmt.Fprintf(c.stdout, "Released KMS instance %s.\n", args[0]) })
			}
		}}
}
