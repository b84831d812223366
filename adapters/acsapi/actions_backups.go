package acsapi

import (
	"context"

	"github.com/seed-4eefd85e/coffer/core"
)

type backupItem struct {
	BackupId      string `json:"BackupId"`
	KmsInstanceId string `json:"KmsInstanceId"`
	CreateTime    string `json:"CreateTime"`
	SecretNum     int    `json:"SecretNum"`
	KeyNum        int    `json:"KeyNum"`
	Size          int    `json:"Size"`
}

func backupOf(b *core.Backup) backupItem {
	return backupItem{b.ID, b.InstanceID, FormatTime(b.CreateTime), b.SecretNum, b.KeyNum, b.Size}
}

func createBackup(ctx context.Context, svc *core.Service, p Params) (any, error) {
	b, err := svc.CreateBackup(ctx, p.String("KmsInstanceId"))
	if err != nil {
		return nil, err
	}
	return backupOf(b), nil
}

func listBackups(ctx context.Context, svc *core.Service, p Params) (any, error) {
	bs, err := svc.ListBackups(ctx, p.String("KmsInstanceId"))
	if err != nil {
		return nil, err
	}
	return listPage(p, bs, "Backups", "Backup", func(b *core.Backup) any { return backupOf(b) })
}

func restoreBackup(ctx context.Context, svc *core.Service, p Params) (any, error) {
	end, err := parseTime(p, "EndDate")
	if err != nil {
		return nil, err
	}
	res, err := svc.RestoreBackup(ctx, core.RestoreBackupInput{
		BackupID: p.String("BackupId"), InstanceID: p.String("KmsInstanceId"), EndDate: end, By: callerOf(ctx),
		MayRestoreFrom: func(id string) error { return authorizeAlso(ctx, svc, core.AdminPermission, "instance/"+id) },
	})
	if err != nil {
		return nil, err
	}
	return struct {
		KmsInstanceId string `json:"KmsInstanceId"`
		SecretNum     int    `json:"SecretNum"`
		KeyNum        int    `json:"KeyNum"`
	}{res.InstanceID, res.SecretNum, res.KeyNum}, nil
}
