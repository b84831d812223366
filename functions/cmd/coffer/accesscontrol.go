package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
)

// acObject is one kind of access-control object (network rule, policy, access point): the same
// four commands over Alibaba's Create/List/Describe/Delete actions of that kind.
type acObject struct {
	cmd, noun, action string // "policy", "policy", "Policy"
	article, plural   string // "a", "policies"
	summary           string
	// outer and inner locate the items of the List answer.
	outer, inner string
	listHeaders  []string
	listFields   []string
	fields       []string // what describe prints
	createHelp   string
	// createFlags declares create's flags and returns what turns them into the action's query.
	createFlags func(fs *flag.FlagSet) func() (map[string]string, error)
}

func jsonText(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

func networkRuleCommands() *command {
	return acObject{cmd: "networkrule", noun: "network rule", action: "NetworkRule", article: "a", plural: "network rules",
		summary: "network rules: the source addresses a policy applies from",
		outer:   "NetworkRules", inner: "NetworkRule", listHeaders: []string{"NAME", "TYPE"}, listFields: []string{"Name", "Type"},
		fields:     []string{"Name", "Type", "SourcePrivateIp", "Description", "Arn"},
		createHelp: "Creates the network rule NAME: the client addresses (CIDR blocks) a policy naming it applies from.",
		createFlags: func(fs *flag.FlagSet) func() (map[string]string, error) {
			var sources stringList
			fs.Var(&sources, "source", "source address block `CIDR`, e.g. 10.0.0.0/8 (repeatable, required)")
			desc := fs.String("description", "", "description of the rule")
			return func() (map[string]string, error) {
				if len(sources) == 0 {
					return nil, usagef("give at least one --source CIDR")
				}
				return map[string]string{"Type": "Private", "SourcePrivateIp": jsonText(sources), "Description": *desc}, nil
			}
		}}.commands()
}

func policyCommands() *command {
	return acObject{cmd: "policy", noun: "policy", action: "Policy", article: "a", plural: "policies",
		summary: "policies: permissions on resources, from network rules",
		outer:   "Policies", inner: "Policy", listHeaders: []string{"NAME"}, listFields: []string{"Name"},
		fields: []string{"Name", "Permissions", "Resources", "AccessControlRules", "Description", "Arn"},
		createHelp: `Creates the policy NAME: the RBAC permission templates it grants (e.g. SecretUser,
CryptoServiceKeyUser, CofferSecretManager) on the resources (secret/<name or pattern>, key/<id>,
instance/<id> or *), for calls from the sources of its network rules.`,
		createFlags: func(fs *flag.FlagSet) func() (map[string]string, error) {
			var perms, resources, rules stringList
			fs.Var(&perms, "permission", "RBAC permission `TEMPLATE` (repeatable, required)")
			fs.Var(&resources, "resource", "`RESOURCE` the permissions apply to, e.g. secret/app/* (repeatable, required)")
			fs.Var(&rules, "network-rule", "network rule `NAME` the calls must come from (repeatable, required)")
			desc := fs.String("description", "", "description of the policy")
			return func() (map[string]string, error) {
				if len(perms) == 0 || len(resources) == 0 || len(rules) == 0 {
					return nil, usagef("give at least one --permission, --resource and --network-rule")
				}
				return map[string]string{
					"Permissions": jsonText(perms), "Resources": jsonText(resources),
					"AccessControlRules": jsonText(map[string][]string{"NetworkRules": rules}), "Description": *desc,
				}, nil
			}
		}}.commands()
}

func accessPointCommands() *command {
	return acObject{cmd: "accesspoint", noun: "application access point", action: "ApplicationAccessPoint", article: "an", plural: "application access points",
		summary: "application access points: the policies an application's keys act under",
		outer:   "ApplicationAccessPoints", inner: "ApplicationAccessPoint",
		listHeaders: []string{"NAME", "AUTHENTICATION"}, listFields: []string{"Name", "AuthenticationMethod"},
		fields: []string{"Name", "AuthenticationMethod", "Policies", "Description", "Arn"},
		createHelp: `Creates the application access point NAME with its policies. Keys made for it ('coffer accesskey
create --access-point NAME', or client keys) may do what those policies allow and nothing else.`,
		createFlags: func(fs *flag.FlagSet) func() (map[string]string, error) {
			var policies stringList
			fs.Var(&policies, "policy", "policy `NAME` (repeatable, required)")
			auth := fs.String("auth", "", "authentication `METHOD`: ClientKey (default) or AccessKey")
			desc := fs.String("description", "", "description of the access point")
			return func() (map[string]string, error) {
				if len(policies) == 0 {
					return nil, usagef("give at least one --policy")
				}
				return map[string]string{"Policies": jsonText(policies), "AuthenticationMethod": *auth, "Description": *desc}, nil
			}
		}}.commands()
}

func (o acObject) commands() *command {
	return &command{name: o.cmd, summary: o.summary, subs: []*command{o.create(), o.list(), o.describe(), o.delete()}}
}

func (o acObject) create() *command {
	return &command{name: "create", args: "NAME", summary: "create " + o.article + " " + o.noun + " (Create" + o.action + ")", help: o.createHelp,
		setup: func(fs *flag.FlagSet) runner {
			query := o.createFlags(fs)
			return func(ctx context.Context, c *cli, args []string) error {
				q, err := query()
				if err != nil {
					return err
				}
				if err := wantArgs(args, 1, "NAME"); err != nil {
					return err
				}
				q["Name"] = args[0]
				body, err := c.call("Create"+o.action, q)
				if err != nil {
					return err
				}
				return c.emit(body, func() { c.printFields(body, o.fields...) })
			}
		}}
}

func (o acObject) list() *command {
	return &command{name: "list", summary: "list " + o.plural + " (List" + o.outer + ")", help: "Lists every " + o.noun + " by name.",
		setup: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, c *cli, args []string) error {
				cl, err := c.connectFor(args, 0, "no arguments")
				if err != nil {
					return err
				}
				all, err := cl.callPages("List"+o.outer, nil, o.outer, o.inner)
				if err != nil {
					return err
				}
				return c.printItems(all, o.listHeaders, o.listFields...)
			}
		}}
}

func (o acObject) describe() *command {
	return &command{name: "describe", args: "NAME", summary: "show " + o.article + " " + o.noun + " (Describe" + o.action + ")", help: "Shows the " + o.noun + " NAME.",
		setup: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 1, "NAME"); err != nil {
					return err
				}
				body, err := c.call("Describe"+o.action, map[string]string{"Name": args[0]})
				if err != nil {
					return err
				}
				return c.emit(body, func() { c.printFields(body, o.fields...) })
			}
		}}
}

func (o acObject) delete() *command {
	return &command{name: "delete", args: "NAME", summary: "delete " + o.article + " " + o.noun + " (Delete" + o.action + ")", help: "Deletes the " + o.noun + " NAME.",
		setup: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 1, "NAME"); err != nil {
					return err
				}
				body, err := c.call("Delete"+o.action, map[string]string{"Name": args[0]})
				if err != nil {
					return err
				}
				return c.emit(body, func() { fmt.Fprintf(c.stdout, "Deleted %s %s.\n", o.noun, args[0]) })
			}
		}}
}
