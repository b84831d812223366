// Command faults runs one fault drill against a running Coffer and the servers behind it, under
// load, and reports what callers saw. scripts/faults starts the servers, runs each drill and
// collects the verdicts; see docs/reliability.md.
//
//	faults -drill cluster-master -endpoint http://127.0.0.1:8080/ -redis redis://...?addr=... -nodes DIR
//
// Drills on a Redis Cluster the script started, with one Coffer on it:
//   - cluster-master: kill -9 the Redis Cluster master holding the first drill secret;
//   - cluster-credentials: kill -9 the master holding the admin access key's record, the
//     credential the writer signs with.
//
// Both put readers (GetSecretValue, and Encrypt then Decrypt on keys spread over every master,
// signed with access keys spread over every master) and a writer of acknowledged versions
// (PutSecretValue) on secrets spread over every master, then measure: calls that failed although
// neither their secret (or key) nor their access key lived on the dead master (must be 0 once the
// FAIL flag is set), how long after the replica's promotion
// calls needing the dead master's slots were served again (at most -recover), acknowledged
// versions lost (0) and the slowest call (at most -slowest). The verdict is one line on stdout,
// a Markdown table row is appended to -table, and the exit status is 1 when a bound is missed.
//
// Drills that start (and kill) their own Coffer processes, from -coffer, in -work:
//   - crash-embedded, crash-redis: kill -9 Coffer during writes (crash.go);
//   - audit-down: the audit sink fails, with COFFER_AUDIT_FAIL_CLOSED true and false (audit.go);
//   - multi-process: three Coffer processes on one Redis, the history checked for
//     linearizability (linearizable.go);
//   - rotation-crash: kill -9 Coffer in a rotation's apply on a real PostgreSQL (-postgres) and
//     MariaDB (-mariadb), and time its resumption by the next process (rotation.go);
//   - fence: SIGSTOP a process holding a rotation's lease past it, and check that once thawed
//     its writes are fenced out (fence.go);
//   - skew: instances whose clocks disagree (COFFER_LOCAL_CLOCK_OFFSET): signature windows,
//     replays, leases and deletion windows (skew.go);
//   - soak: mixed calls at -share (80%) of the peak it measures first (or -rate) for -after, the
//     first period compared with the last (soak.go).
//
// Drill sentinel runs on a Sentinel-managed primary the script started (-redis, its Sentinel URL;
// -nodes, the folder of its pid files), with one Coffer on it: kill -9 the primary under load
// (sentinel.go). Drill network starts its own redis-server and Coffer (-coffer, -work) behind a
// TCP proxy that adds latency, resets or holds connections, and rotates on -postgres through
// another (network.go).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	util "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/redis/go-redis/v9"
)

type config struct {
	drill, endpoint, redisURL, nodes, table, killedFile string
	id, secret                                          string
	secrets, readers, keys                              int
	before, after, recover, slowest                     time.Duration

	// The drills that start Coffer themselves.
	work, cofferBin, rootKey string
	writers, kills           int

	// The rotation drill.
	postgres, mariadb string
	resume            time.Duration

	// The soak.
	rate, periods int
	peak          time.Duration
	share         float64
	flat          bool
}

func main() {
	var c config
	flag.StringVar(&c.drill, "drill", "cluster-master", "the drill: see the package comment")
	flag.StringVar(&c.endpoint, "endpoint", "http://127.0.0.1:8080/", "Coffer's endpoint")
	flag.StringVar(&c.redisURL, "redis", "", "the Cluster's URL, every node named (addr=...)")
	flag.StringVar(&c.nodes, "nodes", "", "folder of the nodes' redis-PORT.pid files")
	flag.StringVar(&c.table, "table", "", "append the result as a Markdown table row to this file")
	flag.StringVar(&c.killedFile, "killed", "", "write the killed node's port to this file")
	flag.StringVar(&c.id, "id", "", "admin access key id (default $COFFER_ADMIN_ACCESS_KEY_ID)")
	flag.StringVar(&c.secret, "secret", "", "admin access key secret (default $COFFER_ADMIN_ACCESS_KEY_SECRET)")
	flag.IntVar(&c.secrets, "secrets", 30, "drill secrets, spread over every master")
	flag.IntVar(&c.readers, "readers", 6, "concurrent readers")
	flag.IntVar(&c.keys, "keys", 1, "reader access keys per master (per server: sentinel, network)")
	flag.DurationVar(&c.before, "before", 3*time.Second, "load before the kill")
	flag.DurationVar(&c.after, "after", 5*time.Second, "load after the promotion")
	flag.DurationVar(&c.recover, "recover", 2*time.Second, "bound: served again this long after the promotion")
	flag.DurationVar(&c.slowest, "slowest", 8*time.Second, "bound: the slowest call (5 s deadline + audit + client)")
	flag.StringVar(&c.work, "work", "", "folder for the servers a drill starts itself (crash-*, audit-*, ...)")
	flag.StringVar(&c.cofferBin, "coffer", "", "the local emulator's binary, for the drills that start Coffer themselves")
	flag.StringVar(&c.rootKey, "root-key", "", "base64 root key of the Coffer processes a drill starts (default $COFFER_ROOT_KEY)")
	flag.IntVar(&c.writers, "writers", 4, "concurrent writers")
	flag.IntVar(&c.kills, "kills", 6, "crash drills: how many kill -9s")
	flag.StringVar(&c.postgres, "postgres", "", "rotation drill: a PostgreSQL superuser URL (default $COFFER_TEST_POSTGRES_URL)")
	flag.StringVar(&c.mariadb, "mariadb", "", "rotation drill: a MariaDB administrator URL, optional (default $COFFER_TEST_MARIADB_URL)")
	flag.DurationVar(&c.resume, "resume", 10*time.Second, "rotation drill bound: resumed this long after the new process serves")
	flag.IntVar(&c.rate, "rate", 0, "soak: calls per second (0: -share of the peak a closed-loop burst of -peak reaches first)")
	flag.DurationVar(&c.peak, "peak", 5*time.Second, "soak: how long the burst that measures the peak runs")
	flag.Float64Var(&c.share, "share", 0.8, "soak: the share of the peak it runs at")
	flag.IntVar(&c.periods, "periods", 6, "soak: periods the run is cut into, the first compared with the last")
	flag.BoolVar(&c.flat, "flat", false, "soak: bound p99 and RSS of the last period by the first's (else shown only)")
	flag.Parse()
	// Read after parsing, not as the flags' defaults: a usage message prints defaults, and these
	// hold credentials.
	for _, v := range []struct {
		into *string
		env  string
	}{{&c.id, "COFFER_ADMIN_ACCESS_KEY_ID"}, {&c.secret, "COFFER_ADMIN_ACCESS_KEY_SECRET"}, {&c.rootKey, "COFFER_ROOT_KEY"},
		{&c.postgres, "COFFER_TEST_POSTGRES_URL"}, {&c.mariadb, "COFFER_TEST_MARIADB_URL"}} {
		*v.into = cmp.Or(*v.into, os.Getenv(v.env))
	}
	ok, err := run(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(c config) (bool, error) {
	switch c.drill {
	case "crash-embedded", "crash-redis":
		return drillCrash(c)
	case "audit-down":
		return drillAudit(c)
	case "multi-process":
		return drillLinearizable(c)
	case "rotation-crash":
		return drillRotation(c)
	case "sentinel":
		return drillSentinel(c)
	case "network":
		return drillNetwork(c)
	case "fence":
		return drillFence(c)
	case "soak":
		return drillSoak(c)
	case "skew":
		return drillSkew(c)
	}
	ctx := context.Background()
	copts, err := redis.ParseClusterURL(c.redisURL)
	if err != nil {
		return false, fmt.Errorf("-redis: %w", err)
	}
	topo := &topology{addrs: copts.Addrs}
	admin, err := newClient(c.endpoint, c.id, c.secret)
	if err != nil {
		return false, err
	}
	if err := waitReady(admin); err != nil {
		return false, err
	}
	masters, err := topo.masters(ctx)
	if err != nil {
		return false, err
	}
	w, err := seed(ctx, c, topo, admin, masters)
	if err != nil {
		return false, err
	}
	var victim node
	switch c.drill {
	case "cluster-master":
		victim = w.secrets[0].master
	case "cluster-credentials":
		victim, err = topo.masterOf(ctx, "{r:accesskey:"+c.id+"}")
	default:
		err = fmt.Errorf("unknown drill %q", c.drill)
	}
	if err != nil {
		return false, err
	}
	return drillClusterKill(ctx, c, topo, w, admin, victim)
}

// node is a Cluster node as CLUSTER NODES shows it.
type node struct{ id, addr, master string }

func (n node) port() string { return n.addr[strings.LastIndexByte(n.addr, ':')+1:] }

// topology asks the nodes themselves (plain clients, one per node), so the drill does not rely
// on the client library it is testing.
type topology struct{ addrs []string }

func (t *topology) do(ctx context.Context, fn func(*redis.Client) error) error {
	var err error
	for _, a := range t.addrs {
		c := redis.NewClient(&redis.Options{Addr: a, DialTimeout: 300 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, MaxRetries: -1, DisableIdentity: true})
		err = fn(c)
		c.Close()
		if err == nil {
			return nil
		}
	}
	return err
}

// nodes is CLUSTER NODES from the first node that answers: every node with its flags.
func (t *topology) nodes(ctx context.Context) (map[node][]string, error) {
	out := map[node][]string{}
	err := t.do(ctx, func(c *redis.Client) error {
		text, err := c.ClusterNodes(ctx).Result()
		if err != nil {
			return err
		}
		for line := range strings.Lines(text) {
			f := strings.Fields(line)
			if len(f) < 8 {
				continue
			}
			addr, _, _ := strings.Cut(f[1], "@")
			master := f[3]
			if master == "-" {
				master = ""
			}
			out[node{id: f[0], addr: addr, master: master}] = strings.Split(f[2], ",")
		}
		return nil
	})
	return out, err
}

// masters are the nodes serving slots, by CLUSTER SLOTS (a node that just restarted may call
// itself master a moment while serving nothing).
func (t *topology) masters(ctx context.Context) ([]node, error) {
	shards, err := t.slots(ctx)
	var ms []node
	for _, s := range shards {
		if len(s.Nodes) > 0 {
			n := node{id: s.Nodes[0].ID, addr: s.Nodes[0].Addr}
			if !slices.Contains(ms, n) {
				ms = append(ms, n)
			}
		}
	}
	return ms, err
}

func (t *topology) slots(ctx context.Context) ([]redis.ClusterSlot, error) {
	var shards []redis.ClusterSlot
	err := t.do(ctx, func(c *redis.Client) error {
		var err error
		shards, err = c.ClusterSlots(ctx).Result()
		return err
	})
	return shards, err
}

// masterOf is the master serving the slot of key's hash tag.
func (t *topology) masterOf(ctx context.Context, key string) (node, error) {
	var slot int64
	err := t.do(ctx, func(c *redis.Client) error {
		var err error
		slot, err = c.ClusterKeySlot(ctx, key).Result()
		return err
	})
	if err != nil {
		return node{}, err
	}
	shards, err := t.slots(ctx)
	if err != nil {
		return node{}, err
	}
	for _, s := range shards {
		if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
			return node{id: s.Nodes[0].ID, addr: s.Nodes[0].Addr}, nil
		}
	}
	return node{}, fmt.Errorf("no master serves slot %d", slot)
}

type client struct {
	sdk *kms.Client
	rt  *util.RuntimeOptions
	drt *dara.RuntimeOptions
}

// newClient is the official SDK without retries: every failure is one the drill counts.
func newClient(endpoint, id, secret string) (*client, error) {
	scheme, host, ok := strings.Cut(strings.TrimSuffix(endpoint, "/"), "://")
	if !ok {
		return nil, fmt.Errorf("-endpoint %q: want scheme://host:port", endpoint)
	}
	sdk, err := kms.NewClient(&openapi.Config{
		AccessKeyId: tea.String(id), AccessKeySecret: tea.String(secret), Endpoint: tea.String(host),
		Protocol: tea.String(scheme), RegionId: tea.String("coffer"), ReadTimeout: tea.Int(10000), ConnectTimeout: tea.Int(2000),
	})
	if err != nil {
		return nil, err
	}
	return &client{
		sdk: sdk,
		rt:  &util.RuntimeOptions{ReadTimeout: tea.Int(10000), ConnectTimeout: tea.Int(2000), Autoretry: tea.Bool(false)},
		drt: &dara.RuntimeOptions{ReadTimeout: tea.Int(10000), ConnectTimeout: tea.Int(2000), Autoretry: tea.Bool(false)},
	}, nil
}

func (c *client) get(name string) (string, error) {
	res, err := c.sdk.GetSecretValueWithOptions(&kms.GetSecretValueRequest{SecretName: tea.String(name)}, c.rt)
	if err != nil {
		return "", err
	}
	return tea.StringValue(res.Body.VersionId), nil
}

// encryptDecrypt seals a value under key id and opens it again: two calls on no secret, whose
// nonces sit beside the signing key's record.
func (c *client) encryptDecrypt(id string) error {
	enc, err := c.sdk.EncryptWithOptions(&kms.EncryptRequest{KeyId: tea.String(id), Plaintext: tea.String("faults")}, c.rt)
	if err != nil {
		return err
	}
	dec, err := c.sdk.DecryptWithOptions(&kms.DecryptRequest{CiphertextBlob: enc.Body.CiphertextBlob}, c.rt)
	if err != nil {
		return err
	}
	if got := tea.StringValue(dec.Body.Plaintext); got != "faults" {
		return fmt.Errorf("Decrypt answered %q, want what was encrypted", got)
	}
	return nil
}

func (c *client) createKey() (string, error) {
	res, err := c.sdk.CreateKeyWithOptions(&kms.CreateKeyRequest{Description: tea.String("faults drill")}, c.rt)
	if err != nil {
		return "", err
	}
	return tea.StringValue(res.Body.KeyMetadata.KeyId), nil
}

func (c *client) put(name, version string) error {
	_, err := c.sdk.PutSecretValueWithOptions(&kms.PutSecretValueRequest{
		SecretName: tea.String(name), VersionId: tea.String(version), SecretData: tea.String("value " + version),
	}, c.rt)
	return err
}

func (c *client) create(name string) error {
	_, err := c.sdk.CreateSecretWithOptions(&kms.CreateSecretRequest{
		SecretName: tea.String(name), VersionId: tea.String(version(0)), SecretData: tea.String("value " + version(0)),
	}, c.rt)
	return err
}

// createAccessKey calls Coffer's extension action through the SDK's generic CallApi.
func (c *client) createAccessKey() (id, secret string, err error) {
	res, err := c.sdk.CallApi(&openapiutil.Params{
		Action: tea.String("CreateAccessKey"), Version: tea.String("2016-01-20"), Protocol: c.sdk.Protocol,
		Pathname: tea.String("/"), Method: tea.String("POST"), AuthType: tea.String("AK"),
		Style: tea.String("RPC"), ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
	}, &openapiutil.OpenApiRequest{Query: map[string]*string{"Admin": tea.String("true"), "Description": tea.String("faults drill")}}, c.drt)
	if err != nil {
		return "", "", err
	}
	body, _ := res["body"].(map[string]any)
	id, _ = body["AccessKeyId"].(string)
	secret, _ = body["AccessKeySecret"].(string)
	if id == "" || secret == "" {
		return "", "", errors.New("CreateAccessKey answered no key")
	}
	return id, secret, nil
}

// waitReady waits for the endpoint to answer a call the store serves.
func waitReady(c *client) error {
	var err error
	for range 100 {
		if _, err = c.get("faults-readiness-probe"); err == nil || strings.Contains(err.Error(), "ResourceNotFound") {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the endpoint never answered: %w", err)
}

func version(n int) string { return fmt.Sprintf("v%06d", n) }

type drillSecret struct {
	name   string
	master node
	acked  atomic.Int64 // last acknowledged version number
}

type readerKey struct {
	id     string
	master node
	cl     *client
}

// cmk is a drill key for Encrypt and Decrypt.
type cmk struct {
	id     string
	master node
}

type world struct {
	secrets []*drillSecret
	keys    []readerKey
	cmks    []cmk
}

// seed creates the drill's secrets, reader keys and KMS keys until every master holds at least
// secrets/masters/2 of the secrets, -keys of the reader keys and one KMS key.
func seed(ctx context.Context, c config, topo *topology, admin *client, masters []node) (*world, error) {
	w := &world{}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	secretsOn, keysOn := map[string]int{}, map[string]int{}
	enough := func(m map[string]int, n int) bool {
		for _, ms := range masters {
			if m[ms.id] < n {
				return false
			}
		}
		return true
	}
	for i := 0; len(w.secrets) < c.secrets || !enough(secretsOn, max(1, c.secrets/len(masters)/2)); i++ {
		if i > 4*c.secrets {
			return nil, errors.New("the drill secrets do not spread over every master")
		}
		name := "faults-" + run + "-" + strconv.Itoa(i)
		if err := admin.create(name); err != nil {
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		m, err := topo.masterOf(ctx, "{s:"+name+"}")
		if err != nil {
			return nil, err
		}
		secretsOn[m.id]++
		w.secrets = append(w.secrets, &drillSecret{name: name, master: m})
	}
	for i := 0; !enough(keysOn, c.keys); i++ {
		if i > 20*len(masters)*c.keys {
			return nil, errors.New("the reader keys do not spread over every master")
		}
		id, secret, err := admin.createAccessKey()
		if err != nil {
			return nil, fmt.Errorf("create access key: %w", err)
		}
		m, err := topo.masterOf(ctx, "{r:accesskey:"+id+"}")
		if err != nil {
			return nil, err
		}
		if keysOn[m.id] >= c.keys {
			continue // enough on that master already; the key stays unused
		}
		cl, err := newClient(c.endpoint, id, secret)
		if err != nil {
			return nil, err
		}
		keysOn[m.id]++
		w.keys = append(w.keys, readerKey{id: id, master: m, cl: cl})
	}
	cmksOn := map[string]int{}
	for i := 0; !enough(cmksOn, 1); i++ {
		if i > 20*len(masters) {
			return nil, errors.New("the KMS keys do not spread over every master")
		}
		id, err := admin.createKey()
		if err != nil {
			return nil, fmt.Errorf("create key: %w", err)
		}
		m, err := topo.masterOf(ctx, "{r:key:"+id+"}")
		if err != nil {
			return nil, err
		}
		cmksOn[m.id]++
		w.cmks = append(w.cmks, cmk{id: id, master: m})
	}
	return w, nil
}

// callRecord is one call under load: when, whether it worked, and which masters it needed.
type callRecord struct {
	start, end time.Time
	err        error
	deps       [2]string // master ids of the secret (or KMS key) and of the signing key
	write      bool      // the writer's PutSecretValue
}

type recorder struct {
	mu    sync.Mutex
	calls []callRecord
}

func (r *recorder) add(c callRecord) {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

// load runs readers and one writer until stop is closed.
func load(w *world, admin *client, adminMaster node, readers int, stop <-chan struct{}, rec *recorder) *sync.WaitGroup {
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			for i := r; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s, k := w.secrets[i%len(w.secrets)], w.keys[(i/len(w.secrets)+r)%len(w.keys)]
				t := time.Now()
				if i%4 == 3 { // every fourth call: Encrypt and Decrypt, which name no secret
					m := w.cmks[(i/4)%len(w.cmks)]
					err := k.cl.encryptDecrypt(m.id)
					rec.add(callRecord{start: t, end: time.Now(), err: err, deps: [2]string{m.master.id, k.master.id}})
					continue
				}
				_, err := k.cl.get(s.name)
				rec.add(callRecord{start: t, end: time.Now(), err: err, deps: [2]string{s.master.id, k.master.id}})
			}
		})
	}
	wg.Go(func() {
		// The writer retries a failed version with the same VersionId and data until it is
		// acknowledged: a write cut off half way would make the retry fail or lose the version.
		for i := 0; ; i++ {
			s := w.secrets[i%len(w.secrets)]
			n := int(s.acked.Load()) + 1
			for {
				select {
				case <-stop:
					return
				default:
				}
				t := time.Now()
				err := admin.put(s.name, version(n))
				rec.add(callRecord{start: t, end: time.Now(), err: err, deps: [2]string{s.master.id, adminMaster.id}, write: true})
				if err == nil {
					s.acked.Store(int64(n))
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
	return &wg
}

// failover is what the Cluster did after the kill, by the survivors' view.
type failover struct{ killed, failed, promoted time.Time }

// watch polls CLUSTER NODES until a survivor flags victim FAIL and one of its replicas (ids in
// replicas, which maps a replica to the master it followed before the kill) is master.
func watch(ctx context.Context, survivors *topology, victim node, replicas map[string]string, f *failover) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		all, err := survivors.nodes(ctx)
		for n, flags := range all {
			if err != nil {
				break
			}
			if n.id == victim.id && slices.Contains(flags, "fail") && f.failed.IsZero() {
				f.failed = time.Now()
			}
			if replicas[n.id] == victim.id && slices.Contains(flags, "master") && f.promoted.IsZero() {
				f.promoted = time.Now()
			}
		}
		if !f.failed.IsZero() && !f.promoted.IsZero() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no replica of %s was promoted within 30 s", victim.addr)
}

// drillClusterKill kills victim under load and judges what callers saw.
func drillClusterKill(ctx context.Context, c config, topo *topology, w *world, admin *client, victim node) (bool, error) {
	// Gossip can take a moment to tell every node which replica follows which master.
	var replicas map[string]string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		all, err := topo.nodes(ctx)
		if err != nil {
			return false, err
		}
		replicas = map[string]string{}
		for n := range all {
			if n.master != "" {
				replicas[n.id] = n.master
			}
		}
		if slices.Contains(slices.Collect(maps.Values(replicas)), victim.id) {
			break
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("the victim %s has no replica after 30 s", victim.addr)
		}
	}
	// The survivors' view of the topology is asked of the survivors only.
	survivors := &topology{}
	for _, a := range topo.addrs {
		if a != victim.addr {
			survivors.addrs = append(survivors.addrs, a)
		}
	}
	adminMaster, err := topo.masterOf(ctx, "{r:accesskey:"+c.id+"}")
	if err != nil {
		return false, err
	}
	pid, err := os.ReadFile(filepath.Join(c.nodes, "redis-"+victim.port()+".pid"))
	if err != nil {
		return false, err
	}
	rec := &recorder{}
	stop := make(chan struct{})
	wg := load(w, admin, adminMaster, c.readers, stop, rec)
	time.Sleep(c.before)
	var f failover
	p, err := strconv.Atoi(strings.TrimSpace(string(pid)))
	if err != nil {
		close(stop)
		wg.Wait()
		return false, fmt.Errorf("pid file of %s: %w", victim.addr, err)
	}
	f.killed = time.Now()
	if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
		close(stop)
		wg.Wait()
		return false, fmt.Errorf("kill %s: %w", victim.addr, err)
	}
	if c.killedFile != "" {
		if err := os.WriteFile(c.killedFile, []byte(victim.port()+"\n"), 0o644); err != nil {
			return false, err
		}
	}
	werr := watch(ctx, survivors, victim, replicas, &f)
	if werr == nil {
		time.Sleep(c.after)
	}
	close(stop)
	wg.Wait()
	if werr != nil {
		return false, werr
	}
	lost, unreadable := lostVersions(admin, w)
	return judge(c, rec.calls, victim, f, lost, unreadable, w), nil
}

// lostVersions counts secrets whose current version is older than the last acknowledged one,
// and those that could not be read back within 5 s.
func lostVersions(admin *client, w *world) (lost, unreadable int) {
	for _, s := range w.secrets {
		var cur string
		var err error
		for range 50 { // the Cluster may still be settling
			if cur, err = admin.get(s.name); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		switch {
		case err != nil:
			unreadable++
		case cur < version(int(s.acked.Load())):
			lost++
		}
	}
	return lost, unreadable
}

func judge(c config, calls []callRecord, victim node, f failover, lost, unreadable int, w *world) bool {
	slices.SortFunc(calls, func(a, b callRecord) int { return a.start.Compare(b.start) })
	var survivors, survivorsFailed, survivorsFailedBeforeFail, dead, deadFailed int
	var lastDeadFail time.Time
	var slowest time.Duration
	var firstErr error
	for _, cl := range calls {
		slowest = max(slowest, cl.end.Sub(cl.start))
		if slices.Contains(cl.deps[:], victim.id) {
			dead++
			if cl.err != nil {
				deadFailed++
				lastDeadFail = cl.start
			}
			continue
		}
		survivors++
		if cl.err == nil {
			continue
		}
		if firstErr == nil {
			firstErr = cl.err
		}
		if cl.start.Before(f.failed) {
			survivorsFailedBeforeFail++
		} else {
			survivorsFailed++
		}
	}
	// Served again: the first call needing the dead master's slots that started after the last
	// one that failed, and succeeded.
	served, never := time.Duration(0), false
	if !lastDeadFail.IsZero() {
		never = true
		for _, cl := range calls {
			if cl.start.After(lastDeadFail) && cl.err == nil && slices.Contains(cl.deps[:], victim.id) {
				served, never = cl.start.Sub(f.promoted), false // below 0: before the poll saw it
				break
			}
		}
	}
	acked := 0
	for _, s := range w.secrets {
		acked += int(s.acked.Load())
	}
	pass := survivorsFailed == 0 && !never && served <= c.recover && lost == 0 && unreadable == 0 && slowest <= c.slowest
	verdict := "PASS"
	if !pass {
		verdict = "FAIL"
	}
	servedText := "never"
	if !never {
		servedText = secs(served)
	}
	fmt.Printf("%s: %s: killed %s; FAIL flag after %s, promotion after %s; dead master's calls served again %s after the promotion (bound %s), %d of %d failed; survivors' calls failed: %d of %d after the FAIL flag (bound 0), %d before it; acknowledged versions %d, lost %d, unreadable after the drill %d; slowest call %s (bound %s)\n",
		c.drill, verdict, victim.addr, secs(f.failed.Sub(f.killed)), secs(f.promoted.Sub(f.killed)), servedText, secs(c.recover),
		deadFailed, dead, survivorsFailed, survivors, survivorsFailedBeforeFail, acked, lost, unreadable, secs(slowest), secs(c.slowest))
	if firstErr != nil {
		fmt.Printf("%s: first survivor failure: %v\n", c.drill, firstErr)
	}
	appendRow(c.table, fmt.Sprintf("| %s | %s | %s | %s | %s | %d / %d | %d / %d (+%d before FAIL) | %d | %d (+%d unreadable) | %s |\n",
		c.drill, verdict, secs(f.failed.Sub(f.killed)), secs(f.promoted.Sub(f.killed)), servedText,
		deadFailed, dead, survivorsFailed, survivors, survivorsFailedBeforeFail, acked, lost, unreadable, secs(slowest)))
	return pass
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s" }
