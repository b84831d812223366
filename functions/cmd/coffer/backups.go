package main

import (
	"context"
	"flag"
	"fmt"
)

func backupCommands() *command {
	return &command{name: "backup", summary: "back up and restore KMS instances and the shared pool", subs: []*command{
		backupCreate(), backupList(), backupRestore(),
	}}
}

var backupColumns = []string{"BackupId", "KmsInstanceId", "CreateTime", "KeyNum", "SecretNum", "Size"}

func backupCreate() *command {
	return &command{name: "create", summary: "back up an instance's keys and secrets (extension action CreateBackup)",
		help: "Writes a backup of --instance (its keys, still wrapped, and its sealed secrets) to the server's\nbackup sink and prints its id. --instance shared backs up the shared pool: the keys and secrets\ncreated without an instance.",
		setup: func(fs *flag.FlagSet) runner {
			instance := fs.String("instance", "", "KMS instance `ID` to back up, or shared for the shared pool (required)")
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				if *instance == "" {
					return usagef("--instance is required")
				}
				cl, err := c.connect()
				if err != nil {
					return err
				}
				stop := spin(c, "backing up "+*instance)
				body, err := cl.call("CreateBackup", map[string]string{"KmsInstanceId": *instance})
				stop()
				if err != nil {
					return err
				}
				return c.emit(body, func() { c.printFields(body, backupColumns...) })
			}
		}}
}

func backupList() *command {
	return &command{name: "list", summary: "list backups (extension action ListBackups)",
		help: "Lists the backups of --instance, or of every instance without it.",
		setup: func(fs *flag.FlagSet) runner {
			instance := fs.String("instance", "", "only backups of this KMS instance `ID` (shared: of the shared pool)")
			return func(ctx context.Context, c *cli, args []string) error {
				cl, err := c.connectFor(args, 0, "no arguments")
				if err != nil {
					return err
				}
				all, err := cl.callPages("ListBackups", map[string]string{"KmsInstanceId": *instance}, "Backups", "Backup")
				if err != nil {
					return err
				}
				return c.printItems(all, []string{"ID", "INSTANCE", "CREATED", "KEYS", "SECRETS", "BYTES"}, backupColumns...)
			}
		}}
}

func backupRestore() *command {
	return &command{name: "restore", args: "BACKUP_ID", summary: "restore a backup (extension action RestoreBackup)",
		help: `Restores the keys and secrets of BACKUP_ID. With --instance naming an existing instance they go
into it; otherwise the restore creates the instance (with the backed-up id when --instance names it,
else a new one), which needs an end date: --end-date or --days. --instance shared restores into the
shared pool, which takes no end date.`,
		setup: func(fs *flag.FlagSet) runner {
			instance := fs.String("instance", "", "KMS instance `ID` to restore into, or shared for the shared pool")
			var end endDate
			end.declare(fs, 0)
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 1, "BACKUP_ID"); err != nil {
					return err
				}
				date, err := end.value()
				if err != nil {
					return err
				}
				cl, err := c.connect()
				if err != nil {
					return err
				}
				stop := spin(c, "restoring "+args[0])
				body, err := cl.call("RestoreBackup", map[string]string{"BackupId": args[0], "KmsInstanceId": *instance, "EndDate": date})
				stop()
				if err != nil {
					return err
				}
				return c.emit(body, func() {
					fmt.Fprintf(c.stdout, "Restored %s keys and %s secrets into KMS instance %s.\n", text(body["KeyNum"]), text(body["SecretNum"]), text(body["KmsInstanceId"]))
				})
			}
		}}
}
