package acsapi

import (
	"context"
	"slices"
	"strconv"

	"github.com/seed-4eefd85e/coffer/core"
)

// deploymentRegion is the one region a Coffer deployment is, as its ARNs name it.
const deploymentRegion = "coffer"

func describeRegions(context.Context, *core.Service, Params) (any, error) {
	type region struct {
		RegionId string `json:"RegionId"`
	}
	type list struct {
		Region []region `json:"Region"`
	}
	return struct {
		Regions list `json:"Regions"`
	}{list{[]region{{deploymentRegion}}}}, nil
}

// getDefaultKmsInstance answers the shared pool, which has no instance id: Coffer has no default
// instance, as an Alibaba account that bought none.
func getDefaultKmsInstance(context.Context, *core.Service, Params) (any, error) {
	return struct {
		DefaultKmsInstanceId string `json:"DefaultKmsInstanceId"`
	}{""}, nil
}

func createKmsInstance(ctx context.Context, svc *core.Service, p Params) (any, error) {
	end, err := parseTime(p, "EndDate")
	if err != nil {
		return nil, err
	}
	inst, err := svc.CreateKmsInstance(ctx, core.CreateKmsInstanceInput{Name: p.String("KmsInstanceName"), EndDate: end})
	if err != nil {
		return nil, err
	}
	return struct {
		KmsInstanceId string `json:"KmsInstanceId"`
	}{inst.ID}, nil
}

func renewKmsInstance(ctx context.Context, svc *core.Service, p Params) (any, error) {
	end, err := parseTime(p, "EndDate")
	if err != nil {
		return nil, err
	}
	inst, err := svc.RenewKmsInstance(ctx, p.String("KmsInstanceId"), end)
	if err != nil {
		return nil, err
	}
	return struct {
		KmsInstanceId string `json:"KmsInstanceId"`
		EndDate       string `json:"EndDate"`
	}{inst.ID, FormatTime(inst.EndDate)}, nil
}

// instanceStatus names an instance's state in the console's words; Coffer adds Expired and
// Released, which Alibaba shows only through errors.
func instanceStatus(s core.InstanceState) string {
	if s == core.InstanceActive {
		return "Connected"
	}
	return string(s)
}

func getKmsInstance(ctx context.Context, svc *core.Service, p Params) (any, error) {
	info, err := svc.GetKmsInstance(ctx, p.String("KmsInstanceId"))
	if err != nil {
		return nil, err
	}
	type bindVpcs struct {
		BindVpc []struct{} `json:"BindVpc"`
	}
	// Every field of the SDK v4 model that Coffer can fill truthfully: an instance is bought until
	// its EndDate and renewed (a subscription, PREPAY), of KMS 3.0's kind, with no deletion
	// protection and no VPC, so the network fields are empty. KeyNum, Spec and VpcNum are the v3
	// model's. VswitchIds and ZoneIds are left out: v3 decodes them as strings, v4 as lists.
	// The KMS instance SDK verifies the gateway's certificate against it.
	ca, err := svc.InstanceCA(ctx, info.ID)
	if err != nil {
		return nil, err
	}
	return struct {
		KmsInstance any `json:"KmsInstance"`
	}{struct {
		InstanceId         string   `json:"InstanceId"`
		InstanceName       string   `json:"InstanceName"`
		Status             string   `json:"Status"`
		CreateTime         string   `json:"CreateTime"`
		StartDate          string   `json:"StartDate"`
		EndDate            string   `json:"EndDate"`
		SecretNum          string   `json:"SecretNum"` // a string in the SDK's struct
		KeyNum             int      `json:"KeyNum"`
		Spec               int      `json:"Spec"`
		ChargeType         string   `json:"ChargeType"`
		ProductVersion     string   `json:"ProductVersion"`
		DeletionProtection bool     `json:"DeletionProtection"`
		VpcId              string   `json:"VpcId"`
		VpcNum             int      `json:"VpcNum"`
		BindVpcs           bindVpcs `json:"BindVpcs"`
		CaChain            string   `json:"CaCertificateChainPem"`
	}{info.ID, info.Name, instanceStatus(info.State), FormatTime(info.CreateTime), FormatTime(info.StartDate), FormatTime(info.EndDate),
		strconv.Itoa(info.SecretNum), info.KeyNum, 1000, "PREPAY", "3", false, "", 0, bindVpcs{[]struct{}{}}, ca.PEM()}}, nil
}

func listKmsInstances(ctx context.Context, svc *core.Service, p Params) (any, error) {
	if err := refuseUnserved(p, nil, "Filters"); err != nil {
		return nil, err
	}
	v, err := view(ctx)
	if err != nil {
		return nil, err
	}
	infos, err := svc.ListKmsInstances(ctx)
	if err != nil {
		return nil, err
	}
	infos = slices.DeleteFunc(infos, func(in *core.InstanceInfo) bool { return !v.Instance(in.ID) })
	type item struct {
		KmsInstanceId  string `json:"KmsInstanceId"`
		KmsInstanceArn string `json:"KmsInstanceArn"`
	}
	return listPage(p, infos, "KmsInstances", "KmsInstance", func(in *core.InstanceInfo) any {
		return item{in.ID, "acs:kms:coffer:coffer:instance/" + in.ID}
	})
}

func releaseKmsInstance(ctx context.Context, svc *core.Service, p Params) (any, error) {
	force, err := p.Bool("ForceDeleteWithoutBackup", false)
	if err != nil {
		return nil, err
	}
	return empty{}, svc.ReleaseKmsInstance(ctx, p.String("KmsInstanceId"), force)
}
