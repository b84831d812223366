package core

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RotationTargets is the operator's list of where rotations may connect: CIDRs, and host names,
// exact or as *.suffix. A rotation config names hosts (a database, an SSH server, a cloud API
// endpoint, a webhook), so without such a list anyone who may write a config could make the
// service connect anywhere it can reach. Link-local and cloud metadata addresses and names are
// refused whatever the list says.
type RotationTargets struct {
	prefixes []netip.Prefix
	names    []string // lower case; "*.example.com" matches every name under example.com
}

// LocalRotationTargets is the local emulator's list when the operator gives none: loopback only.
var LocalRotationTargets = []string{"127.0.0.0/8", "::1/128", "localhost"}

// refusedPrefixes are link-local networks (where cloud metadata services answer) and the
// metadata addresses outside them: never a rotation target.
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),     // IPv4 link-local: AWS, GCP, Azure metadata
	netip.MustParsePrefix("fe80::/10"),          // IPv6 link-local
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS metadata over IPv6
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud metadata
	netip.MustParsePrefix("0.0.0.0/8"),          // "this host": reaches local services
	netip.MustParsePrefix("::/128"),
}

// refusedNames are the metadata services' host names.
var refusedNames = []string{"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}

// ParseRotationTargets reads a list of CIDRs (or single addresses) and host names.
func ParseRotationTargets(list []string) (*RotationTargets, error) {
	t := &RotationTargets{}
	for _, raw := range list {
		s := strings.ToLower(strings.TrimSpace(raw))
		switch {
		case s == "":
			continue
		case strings.Contains(s, "/"):
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", raw)
			}
			t.prefixes = append(t.prefixes, p.Masked())
		default:
			if ip, err := netip.ParseAddr(s); err == nil {
				t.prefixes = append(t.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
				continue
			}
			name := strings.TrimPrefix(s, "*.")
			if name == "" || strings.ContainsAny(name, "*/:[] ") {
				return nil, fmt.Errorf("%q is not a host name, *.domain, address or CIDR", raw)
			}
			t.names = append(t.names, strings.TrimSuffix(s, "."))
		}
	}
	return t, nil
}

// With returns a copy of t that also allows names (a rotator's own built-in endpoints).
func (t *RotationTargets) With(names ...string) *RotationTargets {
	c := &RotationTargets{prefixes: t.prefixes, names: append(append([]string(nil), t.names...), names...)}
	return c
}

func normalHost(host string) string {
	return strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
}

// NameAllowed reports whether host, a name, matches one of the list's names.
func (t *RotationTargets) NameAllowed(host string) bool {
	h := normalHost(host)
	for _, n := range t.names {
		if suffix, ok := strings.CutPrefix(n, "*."); ok {
			if strings.HasSuffix(h, "."+suffix) {
				return true
			}
		} else if h == n {
			return true
		}
	}
	return false
}

// CheckHost is the check of a host a rotation config names (a name or an address). A name
// outside the list's names passes while the list has CIDRs: the addresses it resolves to are
// checked when the rotation connects.
func (t *RotationTargets) CheckHost(host string) error {
	h := normalHost(host)
	if ip, err := netip.ParseAddr(h); err == nil {
		return t.CheckAddr(ip, false)
	}
	for _, n := range refusedNames {
		if h == n {
			return fmt.Errorf("%s is a cloud metadata service, never a rotation target", h)
		}
	}
	if t.NameAllowed(h) || len(t.prefixes) > 0 {
		return nil
	}
	return fmt.Errorf("%s is not in the operator's list of rotation targets (COFFER_ROTATION_TARGETS)", h)
}

// CheckAddr is the check of the address a rotation connects to, after DNS resolution; byName
// says the target's name is one the list allows, which then stands for its addresses.
func (t *RotationTargets) CheckAddr(ip netip.Addr, byName bool) error {
	ip = ip.WithZone("").Unmap()
	for _, p := range refusedPrefixes {
		if p.Contains(ip) {
			return fmt.Errorf("%s is a link-local or cloud metadata address, never a rotation target", ip)
		}
	}
	if byName {
		return nil
	}
	for _, p := range t.prefixes {
		if p.Contains(ip) {
			return nil
		}
	}
	return fmt.Errorf("%s is not in the operator's list of rotation targets (COFFER_ROTATION_TARGETS)", ip)
}

// SetRotationTargets makes the service refuse rotation configs naming a host outside targets.
// Without it configs are not checked here (the rotators' dialers still are).
func (s *Service) SetRotationTargets(targets *RotationTargets) { s.targets = targets }

// checkTargets refuses a rotation config that names a host outside the operator's list: the
// database or SSH server, a RAMCredentials Endpoint, a Generic WebhookUrl.
func (s *Service) checkTargets(t SecretType, ec extendedConfig) error {
	if s.targets == nil {
		return nil
	}
	hosts, err := targetHosts(t, ec)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		if err := s.targets.CheckHost(h.host); err != nil {
			return Invalid("ExtendedConfig", "%s: %v", h.field, err)
		}
	}
	return nil
}

// Resolver looks up the addresses of a host name (net.Resolver.LookupNetIP, network "ip").
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

// SetResolver makes the service refuse, when a secret's rotation is turned on, a target whose
// name does not resolve to an address rotations may connect to, instead of failing at the first
// rotation. Without it (or without rotation targets) names are not looked up.
func (s *Service) SetResolver(r Resolver) { s.lookup = r }

// resolveTimeout bounds the look-up of one target name while a caller waits.
const resolveTimeout = 3 * time.Second

// checkResolves checks, when rotation is on, the port of each host the config names and that each
// name resolves to an address the operator's list lets rotations connect to. A look-up on a
// caller's behalf is a probe, so only names the list passes are looked up, and a refusal says only
// that the name does not resolve: neither its addresses nor why they do not do.
func (s *Service) checkResolves(ctx context.Context, t SecretType, ec extendedConfig) error {
	hosts, err := targetHosts(t, ec)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		if h.port != "" {
			if n, err := strconv.Atoi(h.port); err != nil || n < 1 || n > 65535 {
				return Invalid("ExtendedConfig", "%s: the port must be 1 to 65535", h.field)
			}
		}
		name := normalHost(h.host)
		if _, err := netip.ParseAddr(name); err == nil || s.targets == nil || s.lookup == nil {
			continue // an address is checkTargets' to decide
		}
		if err := s.targets.CheckHost(name); err != nil {
			return Invalid("ExtendedConfig", "%s: %v", h.field, err)
		}
		dctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		addrs, err := s.lookup(dctx, name)
		cancel()
		byName := s.targets.NameAllowed(name)
		if err != nil || !slices.ContainsFunc(addrs, func(a netip.Addr) bool { return s.targets.CheckAddr(a, byName) == nil }) {
			return Invalid("ExtendedConfig", "%s: the host %s cannot be resolved to a rotation target", h.field, name)
		}
	}
	return nil
}

type targetHost struct{ field, host, port string }

func targetHosts(t SecretType, ec extendedConfig) ([]targetHost, error) {
	var cd map[string]any
	_ = json.Unmarshal(ec.CustomData, &cd)
	custom := func(k string) string { s, _ := cd[k].(string); return s }
	field, raw := ec.location(t)
	switch t {
	case TypeRAMCredentials:
		field, raw = "CustomData.Endpoint", custom("Endpoint")
	case TypeGeneric:
		field, raw = "CustomData.WebhookUrl", custom("WebhookUrl")
	}
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		// Anything but a URL with a host (a driver's key=value form, say) could name a host this
		// check does not see.
		return nil, Invalid("ExtendedConfig", "%s must be a URL with a host, such as scheme://host:port", field)
	}
	return []targetHost{{field, u.Hostname(), u.Port()}}, nil
}
