package main

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/mail"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/helpdeskd/helpdeskd/templates"
)

// The configuration is one YAML file plus HELPDESKD_* environment
// overrides, decoded into Config. Config mirrors the file: one struct per
// top-level section, mapstructure tags in snake_case.
//
// Adding a section (calendars, plans, agreements, engineers …) is adding a
// field to Config whose pointer type has a check method (the section
// interface), its defaults to Defaults, and its keys, each with a comment,
// to config.example.yaml. Environment binding, defaults, unknown-key
// detection and Validate follow by reflection; the tests fail until the
// section has a check method and the example documents every key.

// Errors. Every problem LoadConfig and Validate report is a *KeyError that
// wraps one of these, so errors.Is tells the kind.
var (
	// ErrUnknownKey: the file has a key Config does not know (a typo,
	// or a key from a newer or older version).
	ErrUnknownKey = errors.New("unknown key")
	// ErrBadValue: a value cannot be decoded into its key's type.
	ErrBadValue = errors.New("bad value")
	// ErrInvalid: a value decodes but Validate rejects it.
	ErrInvalid = errors.New("invalid configuration")
)

// EnvPrefix starts every environment override: HELPDESKD_IMAP_PASSWORD
// sets imap.password.
const EnvPrefix = "HELPDESKD_"

// keyDelim is viper's key delimiter. Not ".", because keys of maps such as
// languages.domains are domain names with dots, which viper would otherwise
// split into nested keys.
const keyDelim = "::"

// Config is the whole configuration of one helpdeskd instance.
type Config struct {
	Store     StoreConfig     `mapstructure:"store" yaml:"store"`
	Support   SupportConfig   `mapstructure:"support" yaml:"support"`
	IMAP      IMAPConfig      `mapstructure:"imap" yaml:"imap"`
	SMTP      SMTPConfig      `mapstructure:"smtp" yaml:"smtp"`
	Acks      AcksConfig      `mapstructure:"acks" yaml:"acks"`
	Languages LanguagesConfig `mapstructure:"languages" yaml:"languages"`
	Log       LogConfig       `mapstructure:"log" yaml:"log"`
	Metrics   MetricsConfig   `mapstructure:"metrics" yaml:"metrics"`
	Engineers EngineersConfig `mapstructure:"engineers" yaml:"engineers"`
	Trust     TrustConfig     `mapstructure:"trust" yaml:"trust"`
	Admin     AdminConfig     `mapstructure:"admin" yaml:"admin"`     // admin.go
	Runtime   RuntimeConfig   `mapstructure:"runtime" yaml:"runtime"` // gotuning.go
	// SLA (slaconfig.go): checked in this order, each using the ones before.
	Calendars  Calendars  `mapstructure:"calendars" yaml:"calendars,omitempty"`
	Plans      Plans      `mapstructure:"plans" yaml:"plans,omitempty"`
	Agreements Agreements `mapstructure:"agreements" yaml:"agreements,omitempty"`
	SLA        SLAConfig  `mapstructure:"sla" yaml:"sla"`
}

// StoreConfig is the bbolt database file.
type StoreConfig struct {
	Path        string        `mapstructure:"path" yaml:"path"`
	LockTimeout time.Duration `mapstructure:"lock_timeout" yaml:"lock_timeout"`
}

// SupportConfig is who we are on the wire.
type SupportConfig struct {
	Address string `mapstructure:"address" yaml:"address"`
	Name    string `mapstructure:"name" yaml:"name"`
	// OwnAddresses are further addresses of ours: mail from them is never
	// ticketed as a customer's and never acknowledged.
	OwnAddresses []string `mapstructure:"own_addresses" yaml:"own_addresses"`
	CasePrefix   string   `mapstructure:"case_prefix" yaml:"case_prefix"`
	// LoopID is the value of our loop header; Validate defaults it to
	// the lower-cased support address.
	LoopID string `mapstructure:"loop_id" yaml:"loop_id"`
	// Hostname is the right-hand side of our Message-IDs; Validate
	// defaults it to the domain of the support address.
	Hostname string `mapstructure:"hostname" yaml:"hostname"`
}

// Security is how a mail connection is protected.
type Security string

// Securities.
const (
	SecurityTLS      Security = "tls"      // TLS from the first byte (993, 465)
	SecurityStartTLS Security = "starttls" // plain, then STARTTLS (143, 587)
	SecurityPlain    Security = "plain"    // no TLS; loopback only unless allowed
)

var securities = []Security{SecurityTLS, SecurityStartTLS, SecurityPlain}

// IMAPConfig is the support mailbox we read.
type IMAPConfig struct {
	Address       string   `mapstructure:"address" yaml:"address"`
	Security      Security `mapstructure:"security" yaml:"security"`
	AllowInsecure bool     `mapstructure:"allow_insecure" yaml:"allow_insecure"`
	Username      string   `mapstructure:"username" yaml:"username"`
	// Password is the secret after Validate, whichever way it was given.
	Password         string        `mapstructure:"password" yaml:"password"`
	PasswordFile     string        `mapstructure:"password_file" yaml:"password_file"`
	Mailbox          string        `mapstructure:"mailbox" yaml:"mailbox"`
	ProcessedMailbox string        `mapstructure:"processed_mailbox" yaml:"processed_mailbox"`
	InitialScan      string        `mapstructure:"initial_scan" yaml:"initial_scan"` // unseen, all or none
	PollInterval     time.Duration `mapstructure:"poll_interval" yaml:"poll_interval"`
	IdleRefresh      time.Duration `mapstructure:"idle_refresh" yaml:"idle_refresh"`
	CommandTimeout   time.Duration `mapstructure:"command_timeout" yaml:"command_timeout"`
	MaxMessageSize   ByteSize      `mapstructure:"max_message_size" yaml:"max_message_size"`
	BatchSize        int           `mapstructure:"batch_size" yaml:"batch_size"`

	// passwordFromFile records that Validate filled Password from
	// PasswordFile, so that a second Validate does not see both set.
	passwordFromFile bool
}

// SMTPConfig is the server we submit our mail to.
type SMTPConfig struct {
	Address       string   `mapstructure:"address" yaml:"address"`
	Security      Security `mapstructure:"security" yaml:"security"`
	AllowInsecure bool     `mapstructure:"allow_insecure" yaml:"allow_insecure"`
	// Username empty: no authentication.
	Username     string `mapstructure:"username" yaml:"username"`
	Password     string `mapstructure:"password" yaml:"password"`
	PasswordFile string `mapstructure:"password_file" yaml:"password_file"`
	// Helo is the name we greet with; Validate defaults it to
	// support.hostname.
	Helo        string        `mapstructure:"helo" yaml:"helo"`
	Timeout     time.Duration `mapstructure:"timeout" yaml:"timeout"`
	RetryMin    time.Duration `mapstructure:"retry_min" yaml:"retry_min"`
	RetryMax    time.Duration `mapstructure:"retry_max" yaml:"retry_max"`
	GiveUpAfter time.Duration `mapstructure:"give_up_after" yaml:"give_up_after"`

	passwordFromFile bool
}

// AcksConfig caps and limits the automatic acknowledgements.
type AcksConfig struct {
	PerSenderPerHour int `mapstructure:"per_sender_per_hour" yaml:"per_sender_per_hour"`
	GlobalPerHour    int `mapstructure:"global_per_hour" yaml:"global_per_hour"`
	// NoReplyPatterns are local-part substrings of senders that are
	// never acknowledged.
	NoReplyPatterns []string `mapstructure:"noreply_patterns" yaml:"noreply_patterns"`
}

// LanguagesConfig picks the language of customer mail.
type LanguagesConfig struct {
	Default string `mapstructure:"default" yaml:"default"`
	// Domains maps a customer's lower-case mail domain to a language.
	Domains map[string]string `mapstructure:"domains" yaml:"domains"`
}

// LogConfig is the slog output.
type LogConfig struct {
	Level  string `mapstructure:"level" yaml:"level"`
	Format string `mapstructure:"format" yaml:"format"`
}

// MetricsConfig is the Prometheus /metrics and /healthz listener.
type MetricsConfig struct {
	// Listen empty: no listener.
	Listen      string `mapstructure:"listen" yaml:"listen"`
	AllowPublic bool   `mapstructure:"allow_public" yaml:"allow_public"`
}

// defaultNoReplyPatterns is the same list as ticket.DefaultNoReplyPatterns,
// written out so that the configuration shows what is in effect.
var defaultNoReplyPatterns = []string{"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply", "mailer-daemon", "postmaster", "bounce"}

// Defaults returns a Config holding every default. LoadConfig starts from
// it; the required keys (store.path, support.address, imap.address,
// imap.username, an IMAP password, smtp.address) are empty.
func Defaults() *Config {
	return &Config{
		Store: StoreConfig{LockTimeout: time.Second},
		Support: SupportConfig{
			CasePrefix: "HD",
		},
		IMAP: IMAPConfig{
			Security:       SecurityTLS,
			Mailbox:        "INBOX",
			InitialScan:    "unseen",
			PollInterval:   60 * time.Second,
			IdleRefresh:    25 * time.Minute,
			CommandTimeout: 60 * time.Second,
			MaxMessageSize: 25 * MiB,
			BatchSize:      100,
		},
		SMTP: SMTPConfig{
			Security:    SecurityStartTLS,
			Timeout:     60 * time.Second,
			RetryMin:    time.Minute,
			RetryMax:    time.Hour,
			GiveUpAfter: 120 * time.Hour,
		},
		Acks: AcksConfig{
			PerSenderPerHour: 5,
			GlobalPerHour:    500,
			NoReplyPatterns:  slices.Clone(defaultNoReplyPatterns),
		},
		Languages: LanguagesConfig{Default: "en"},
		Log:       LogConfig{Level: "info", Format: "text"},
		Metrics:   MetricsConfig{Listen: "127.0.0.1:9154"},
		Runtime:   RuntimeConfig{GCPercent: defaultGCPercent, MemoryLimit: defaultMemoryLimit},
		Engineers: EngineersConfig{Members: []string{}, Notify: []string{}, ReopenWindow: 14 * 24 * time.Hour},
	}
}

// LoadConfig reads the YAML file at path (none if path is empty), applies
// HELPDESKD_* environment overrides and the defaults, and decodes the
// result strictly: an unknown key or a value of the wrong type is an error
// that names the key. All such problems are reported at once, joined.
//
// Precedence per key: environment, then file, then default. An empty
// environment variable counts as unset. LoadConfig does not validate;
// call Validate, which also reads password files and fills derived
// defaults.
func LoadConfig(path string) (*Config, error) {
	v := viper.NewWithOptions(viper.KeyDelimiter(keyDelim))
	lvs := configLeaves()
	defaults := reflect.ValueOf(Defaults()).Elem()
	for _, l := range lvs {
		// Bound explicitly: AutomaticEnv only consults the environment
		// for keys viper already knows from the file or a default.
		if err := v.BindEnv(l.viperKey(), l.envName()); err != nil {
			return nil, fmt.Errorf("binding %s: %w", l.envName(), err)
		}
		if d := defaults.FieldByIndex(l.index); !d.IsZero() {
			v.SetDefault(l.viperKey(), d.Interface())
		}
	}
	if path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml") // whatever the file name ends in
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("reading config file %s: %w", path, err)
		}
	}

	problems := unknownKeys(v, lvs)

	// The settings are gathered per known key rather than with
	// v.AllSettings/UnmarshalExact: viper merges AllSettings in map order,
	// and an empty section in the file ("metrics:" with every key
	// commented out) then makes an environment override of one of its keys
	// win or lose at random.
	settings := map[string]any{}
	for _, l := range lvs {
		val := v.Get(l.viperKey())
		if val == nil {
			continue
		}
		m := settings
		for _, p := range l.path[:len(l.path)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		m[l.path[len(l.path)-1]] = val
	}

	cfg := &Config{}
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           cfg,
		ErrorUnused:      true, // guard: settings hold known keys only
		WeaklyTypedInput: true, // environment values are strings
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			durationHook, byteSizeHook, stringToSliceHook, stringToMapHook, dateHook, reportsListHook,
		),
	})
	if err != nil {
		return nil, err
	}
	if err := dec.Decode(settings); err != nil {
		problems = append(problems, decodeProblems(err)...)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return cfg, nil
}

// KeyError is one problem with one key. Key is the dotted path, as in the
// file: "imap.password".
type KeyError struct {
	Key     string
	Problem string
	Err     error // ErrUnknownKey, ErrBadValue or ErrInvalid
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Problem }
func (e *KeyError) Unwrap() error { return e.Err }

// unknownKeys reports each key of the file that Config does not have,
// naming the outermost unknown part once ("calendars", not every key
// beneath it) and suggesting the nearest known key.
func unknownKeys(v *viper.Viper, lvs []leaf) []error {
	known := map[string]bool{}        // viper keys of leaves
	sections := map[string]bool{}     // viper keys of their proper prefixes
	children := map[string][]string{} // section ("" for top) → child names
	for _, l := range lvs {
		known[l.viperKey()] = true
		for i := range l.path {
			parent := strings.Join(l.path[:i], keyDelim)
			if !slices.Contains(children[parent], l.path[i]) {
				children[parent] = append(children[parent], l.path[i])
			}
			if i < len(l.path)-1 {
				sections[strings.Join(l.path[:i+1], keyDelim)] = true
			}
		}
	}
	reported := map[string]bool{}
	var problems []error
	keys := v.AllKeys()
	slices.Sort(keys)
	for _, k := range keys {
		if known[k] {
			continue
		}
		if sections[k] {
			// A section given as a scalar or list rather than as keys; an
			// empty section (all keys commented out) is fine.
			if val := v.Get(k); val != nil && reflect.TypeOf(val).Kind() != reflect.Map {
				path := strings.Split(k, keyDelim)
				problems = append(problems, &KeyError{
					Key:     strings.Join(path, "."),
					Problem: fmt.Sprintf("is a section, not a value; give its keys (%s) indented beneath it", strings.Join(children[k], ", ")),
					Err:     ErrBadValue,
				})
			}
			continue
		}
		path := strings.Split(k, keyDelim)
		for i := range path {
			prefix := strings.Join(path[:i+1], keyDelim)
			if known[prefix] {
				break // an entry of a map-valued key
			}
			if sections[prefix] {
				continue
			}
			if !reported[prefix] {
				reported[prefix] = true
				parent := strings.Join(path[:i], keyDelim)
				problems = append(problems, &KeyError{
					Key:     strings.Join(path[:i+1], "."),
					Problem: "unknown key; " + suggest(path[:i], path[i], children[parent]),
					Err:     ErrUnknownKey,
				})
			}
			break
		}
	}
	return problems
}

// suggest names the nearest known sibling of an unknown key, or lists
// them all when none is near.
func suggest(parent []string, name string, siblings []string) string {
	best, bestDist := "", math.MaxInt
	for _, s := range siblings {
		if d := editDistance(name, s); d < bestDist {
			best, bestDist = s, d
		}
	}
	dotted := func(s string) string { return strings.Join(append(slices.Clone(parent), s), ".") }
	if best != "" && bestDist <= max(1, len(name)/3) {
		return "did you mean " + dotted(best) + "?"
	}
	if len(parent) == 0 {
		return "the sections are " + strings.Join(siblings, ", ")
	}
	return "the keys of " + strings.Join(parent, ".") + " are " + strings.Join(siblings, ", ")
}

// editDistance is the Levenshtein distance of a and b in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// decodeProblems turns mapstructure's joined errors into one KeyError per
// key, saying when the value came from the environment.
func decodeProblems(err error) []error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var de *mapstructure.DecodeError
		if !errors.As(e, &de) {
			out = append(out, fmt.Errorf("%w: %w", ErrBadValue, e))
			return
		}
		problem := de.Unwrap().Error()
		env := EnvPrefix + strings.ToUpper(strings.ReplaceAll(de.Name(), ".", "_"))
		if val, ok := os.LookupEnv(env); ok && val != "" {
			problem += " (value from " + env + ")"
		}
		out = append(out, &KeyError{Key: de.Name(), Problem: problem, Err: ErrBadValue})
	}
	walk(err)
	return out
}

// leaf is one settable key of Config: a field that is not a struct.
type leaf struct {
	path  []string // mapstructure names, "imap", "password"
	index []int    // reflect field index path
}

func (l leaf) key() string      { return strings.Join(l.path, ".") }
func (l leaf) viperKey() string { return strings.Join(l.path, keyDelim) }
func (l leaf) envName() string {
	return EnvPrefix + strings.ToUpper(strings.Join(l.path, "_"))
}

// configLeaves lists every key of Config in field order.
func configLeaves() []leaf {
	var out []leaf
	var walk func(t reflect.Type, path []string, index []int)
	walk = func(t reflect.Type, path []string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				panic("config: field " + f.Name + " has no mapstructure tag")
			}
			p := append(slices.Clone(path), name)
			ix := append(slices.Clone(index), i)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, p, ix)
				continue
			}
			out = append(out, leaf{path: p, index: ix})
		}
	}
	walk(reflect.TypeFor[Config](), nil, nil)
	return out
}

// Decode hooks. Environment values arrive as strings; YAML values as
// strings, ints, floats, lists and maps.

var (
	durationType = reflect.TypeFor[time.Duration]()
	byteSizeType = reflect.TypeFor[ByteSize]()
)

// durationHook reads Go durations ("60s", "25m", "1h30m"). A bare number
// is refused: 60 would be 60 nanoseconds.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType || from == durationType {
		return data, nil
	}
	switch from.Kind() {
	case reflect.String:
		d, err := time.ParseDuration(strings.TrimSpace(data.(string)))
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration: write a number with a unit, e.g. \"60s\", \"25m\", \"1h\"", data)
		}
		return d, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return nil, fmt.Errorf("%v has no unit: write e.g. \"%vs\" for seconds or \"%vm\" for minutes", data, data, data)
	}
	return data, nil
}

// byteSizeHook reads sizes as a number of bytes or with a unit ("25MiB").
func byteSizeHook(from, to reflect.Type, data any) (any, error) {
	if to != byteSizeType || from == byteSizeType {
		return data, nil
	}
	v := reflect.ValueOf(data)
	switch from.Kind() {
	case reflect.String:
		return ParseByteSize(data.(string))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() < 0 {
			return nil, fmt.Errorf("%d is negative: give a size such as \"25MiB\"", v.Int())
		}
		return ByteSize(v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() > math.MaxInt64 {
			return nil, fmt.Errorf("%d is too large", v.Uint())
		}
		return ByteSize(v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if f < 0 || f != math.Trunc(f) || f > math.MaxInt64 {
			return nil, fmt.Errorf("%v is not a whole number of bytes: give e.g. \"25MiB\" or 26214400", f)
		}
		return ByteSize(f), nil
	}
	return data, nil
}

// stringToSliceHook reads a list from the environment: "a, b,c".
func stringToSliceHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice {
		return data, nil
	}
	var out []string
	for s := range strings.SplitSeq(data.(string), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// stringToMapHook reads a map from the environment:
// "example.no=nb, example.se=sv".
func stringToMapHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Map {
		return data, nil
	}
	out := map[string]string{}
	for s := range strings.SplitSeq(data.(string), ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not key=value: write e.g. \"example.no=nb,example.se=sv\"", s)
		}
		out[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return out, nil
}

// Validate checks the whole configuration and reports every problem at
// once, joined, each naming its key and a fix. On the way it reads the
// password files into the passwords and fills the derived defaults
// (support.loop_id, support.hostname, smtp.helo). It may be called again
// on the same Config.
func (c *Config) Validate() error {
	var p problems
	// Sections are checked in field order: a later section may use what
	// an earlier one derived (smtp.helo defaults to support.hostname).
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		if s, ok := v.Field(i).Addr().Interface().(section); ok {
			s.check(c, &p)
		}
	}
	return errors.Join(p...)
}

// section is a top-level part of Config that can check itself.
type section interface {
	check(c *Config, p *problems)
}

// problems collects KeyErrors.
type problems []error

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, &KeyError{Key: key, Problem: fmt.Sprintf(format, args...), Err: ErrInvalid})
}

func (s *StoreConfig) check(_ *Config, p *problems) {
	if s.Path == "" {
		p.add("store.path", `required, e.g. "/var/lib/helpdeskd/helpdeskd.db"`)
	}
	positive(p, "store.lock_timeout", s.LockTimeout, "1s")
}

var casePrefixRE = regexp.MustCompile(`^[A-Z][A-Z0-9]{0,9}$`)

func (s *SupportConfig) check(_ *Config, p *problems) {
	addr, ok := bareAddress(p, "support.address", s.Address, true)
	for i, a := range s.OwnAddresses {
		bareAddress(p, fmt.Sprintf("support.own_addresses[%d]", i), a, true)
	}
	if !casePrefixRE.MatchString(s.CasePrefix) {
		p.add("support.case_prefix", "%q must be an upper-case letter and at most 9 more upper-case letters or digits, e.g. \"HD\"", s.CasePrefix)
	}
	if s.LoopID != "" && !printableASCII(s.LoopID) {
		p.add("support.loop_id", "%q must be printable ASCII without spaces; leave it empty to use the support address", s.LoopID)
	}
	if s.Hostname != "" && !isHostname(s.Hostname) {
		p.add("support.hostname", "%q is not a host name; leave it empty to use the domain of support.address", s.Hostname)
	}
	if !ok {
		return
	}
	if s.LoopID == "" {
		s.LoopID = strings.ToLower(addr)
	}
	if s.Hostname == "" {
		s.Hostname = strings.ToLower(addr[strings.LastIndexByte(addr, '@')+1:])
	}
}

func (m *IMAPConfig) check(_ *Config, p *problems) {
	host, _ := hostPort(p, "imap.address", m.Address, "imap.example.com:993", true)
	checkSecurity(p, "imap", m.Security, host, m.AllowInsecure)
	if m.Username == "" {
		p.add("imap.username", `required, e.g. "support@example.com"`)
	}
	resolvePassword(p, "imap", &m.Password, m.PasswordFile, &m.passwordFromFile, true)
	if m.Mailbox == "" {
		p.add("imap.mailbox", `must not be empty; the default is "INBOX"`)
	}
	if m.ProcessedMailbox != "" && m.ProcessedMailbox == m.Mailbox {
		p.add("imap.processed_mailbox", `%q is imap.mailbox itself; name another mailbox, or "" to only mark processed mail \Seen`, m.ProcessedMailbox)
	}
	if !slices.Contains([]string{"unseen", "all", "none"}, m.InitialScan) {
		p.add("imap.initial_scan", "%q is not one of unseen (take only unread mail on first contact, the default), all or none", m.InitialScan)
	}
	positive(p, "imap.poll_interval", m.PollInterval, "60s")
	positive(p, "imap.idle_refresh", m.IdleRefresh, "25m")
	if m.IdleRefresh >= 29*time.Minute {
		// RFC 2177: servers may end an IDLE after 30 minutes.
		p.add("imap.idle_refresh", "%v must be below 29m: servers may drop an IDLE after 30 minutes; the default is 25m", m.IdleRefresh)
	}
	positive(p, "imap.command_timeout", m.CommandTimeout, "60s")
	if m.MaxMessageSize <= 0 {
		p.add("imap.max_message_size", `must be positive, e.g. "25MiB"`)
	}
	if m.BatchSize < 1 {
		p.add("imap.batch_size", "%d must be at least 1, e.g. 100", m.BatchSize)
	}
}

func (s *SMTPConfig) check(c *Config, p *problems) {
	host, _ := hostPort(p, "smtp.address", s.Address, "smtp.example.com:587", true)
	checkSecurity(p, "smtp", s.Security, host, s.AllowInsecure)
	if s.Username == "" && (s.Password != "" || s.PasswordFile != "") {
		p.add("smtp.username", "empty, yet a password is given; give the username, or remove the password to send without authentication")
	}
	resolvePassword(p, "smtp", &s.Password, s.PasswordFile, &s.passwordFromFile, s.Username != "")
	if s.Helo == "" {
		s.Helo = c.Support.Hostname
	} else if !isHostname(s.Helo) {
		p.add("smtp.helo", "%q is not a host name; leave it empty to use support.hostname", s.Helo)
	}
	positive(p, "smtp.timeout", s.Timeout, "60s")
	positive(p, "smtp.retry_min", s.RetryMin, "1m")
	positive(p, "smtp.retry_max", s.RetryMax, "1h")
	positive(p, "smtp.give_up_after", s.GiveUpAfter, "120h")
	if s.RetryMin > 0 && s.RetryMax > 0 && s.RetryMin > s.RetryMax {
		p.add("smtp.retry_max", "%v is below smtp.retry_min (%v); raise it or lower smtp.retry_min", s.RetryMax, s.RetryMin)
	}
}

func (a *AcksConfig) check(_ *Config, p *problems) {
	if a.PerSenderPerHour < 1 {
		p.add("acks.per_sender_per_hour", "%d must be at least 1 (the default is 5); use acks.noreply_patterns or support.own_addresses to silence senders", a.PerSenderPerHour)
	}
	if a.GlobalPerHour < 1 {
		p.add("acks.global_per_hour", "%d must be at least 1; the default is 500", a.GlobalPerHour)
	}
	for i, pat := range a.NoReplyPatterns {
		if pat == "" || strings.ContainsAny(pat, "@ \t") {
			p.add(fmt.Sprintf("acks.noreply_patterns[%d]", i), "%q must be a non-empty part of a local part, without '@' or spaces, e.g. \"noreply\"", pat)
		}
	}
}

func (l *LanguagesConfig) check(_ *Config, p *problems) {
	known := templates.Languages()
	if !slices.Contains(known, l.Default) {
		p.add("languages.default", "%q is not a language we have mail texts in; use one of %s", l.Default, strings.Join(known, ", "))
	}
	for _, d := range slices.Sorted(maps.Keys(l.Domains)) {
		key := fmt.Sprintf("languages.domains[%q]", d)
		if d != strings.ToLower(d) || !isHostname(d) {
			p.add(key, "%q is not a lower-case domain name; write e.g. \"example.no\" (international domains in their xn-- form)", d)
		}
		if lang := l.Domains[d]; !slices.Contains(known, lang) {
			p.add(key, "%q is not a language we have mail texts in; use one of %s", lang, strings.Join(known, ", "))
		}
	}
}

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
)

func (l *LogConfig) check(_ *Config, p *problems) {
	if !slices.Contains(logLevels, l.Level) {
		p.add("log.level", "%q is not one of %s", l.Level, strings.Join(logLevels, ", "))
	}
	if !slices.Contains(logFormats, l.Format) {
		p.add("log.format", "%q is not one of %s", l.Format, strings.Join(logFormats, ", "))
	}
}

// SlogLevel is Level as a slog.Level; info when Level is not valid.
func (l LogConfig) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

func (m *MetricsConfig) check(_ *Config, p *problems) {
	if m.Listen == "" {
		return
	}
	host, port, err := net.SplitHostPort(m.Listen)
	if err != nil {
		p.add("metrics.listen", "%q is not host:port, e.g. \"127.0.0.1:9154\"; \"\" disables the listener", m.Listen)
		return
	}
	checkPort(p, "metrics.listen", port)
	if host != "" && net.ParseIP(host) == nil && !isHostname(host) {
		p.add("metrics.listen", "%q is not a host name or IP address", host)
		return
	}
	if !m.AllowPublic && !isLoopback(host) {
		p.add("metrics.listen", "%q is reachable from other machines; listen on \"127.0.0.1:%s\", or set metrics.allow_public: true", m.Listen, port)
	}
}

// Check helpers.

func positive(p *problems, key string, d time.Duration, example string) {
	if d <= 0 {
		p.add(key, "%v must be positive, e.g. %q", d, example)
	}
}

// hostPort checks a "host:port" address and returns its host.
func hostPort(p *problems, key, value, example string, required bool) (string, bool) {
	if value == "" {
		if required {
			p.add(key, "required, e.g. %q", example)
		}
		return "", false
	}
	host, port, err := net.SplitHostPort(value)
	if err != nil {
		p.add(key, "%q is not host:port, e.g. %q", value, example)
		return "", false
	}
	ok := checkPort(p, key, port)
	if host == "" {
		p.add(key, "%q has no host, e.g. %q", value, example)
		return "", false
	}
	if net.ParseIP(host) == nil && !isHostname(host) {
		p.add(key, "%q is not a host name or IP address, e.g. %q", host, example)
		return "", false
	}
	return host, ok
}

func checkPort(p *problems, key, port string) bool {
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		p.add(key, "port %q must be a number from 1 to 65535", port)
		return false
	}
	return true
}

func checkSecurity(p *problems, section string, s Security, host string, allowInsecure bool) {
	if !slices.Contains(securities, s) {
		p.add(section+".security", "%q is not one of tls, starttls, plain", s)
		return
	}
	if s == SecurityPlain && host != "" && !allowInsecure && !isLoopback(host) {
		p.add(section+".security", "plain sends passwords and mail unencrypted to %s, which is not a loopback host; use tls or starttls, or set %s.allow_insecure: true", host, section)
	}
}

// isLoopback: 127.0.0.0/8, ::1 or "localhost". An empty host (listen on
// every interface) is not.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isHostname accepts DNS names of letters, digits and inner hyphens, in
// either case, with an optional final dot.
func isHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func printableASCII(s string) bool {
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return len(s) <= 200
}

// bareAddress checks a mail address without display name and returns it.
func bareAddress(p *problems, key, value string, required bool) (string, bool) {
	if value == "" {
		if required {
			p.add(key, `required, e.g. "support@example.com"`)
		}
		return "", false
	}
	a, err := mail.ParseAddress(value)
	if err != nil {
		p.add(key, "%q is not a mail address (%v), e.g. \"support@example.com\"", value, err)
		return "", false
	}
	if a.Name != "" || a.Address != value {
		p.add(key, "%q: give the bare address, e.g. %q; the display name belongs in support.name", value, a.Address)
		return "", false
	}
	return a.Address, true
}

// resolvePassword reads section.password_file into *password. The
// environment variable HELPDESKD_<SECTION>_PASSWORD arrives as the
// password key, so it too conflicts with a password file.
func resolvePassword(p *problems, section string, password *string, file string, fromFile *bool, required bool) {
	env := EnvPrefix + strings.ToUpper(section) + "_PASSWORD"
	if file == "" {
		if *fromFile { // the file was removed since the last Validate
			*password, *fromFile = "", false
		}
		if required && *password == "" {
			p.add(section+".password", "required: set %s.password, %s.password_file or %s", section, section, env)
		}
		return
	}
	if *password != "" && !*fromFile {
		p.add(section+".password_file", "both %s.password (or %s) and %s.password_file are set; keep one", section, env, section)
		return
	}
	b, err := os.ReadFile(file)
	if err != nil {
		p.add(section+".password_file", "reading %s: %v; give a file helpdeskd can read, or use %s.password or %s", file, errors.Unwrap(err), section, env)
		return
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		p.add(section+".password_file", "%s is empty; write the password into it", file)
		return
	}
	*password, *fromFile = pw, true
}

// Redacted returns a deep copy of c with the passwords that are set
// replaced by "***", for printing.
func (c *Config) Redacted() *Config {
	r := *c
	r.Support.OwnAddresses = slices.Clone(c.Support.OwnAddresses)
	r.Acks.NoReplyPatterns = slices.Clone(c.Acks.NoReplyPatterns)
	r.Languages.Domains = maps.Clone(c.Languages.Domains)
	for _, pw := range []*string{&r.IMAP.Password, &r.SMTP.Password} {
		if *pw != "" {
			*pw = "***"
		}
	}
	return &r
}

// ByteSize is a size in bytes. In the configuration it is a number of
// bytes or a whole number with a unit: B, kB/KB, MB, GB, TB (powers of
// 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. "25MiB".
type ByteSize int64

// Size units.
const (
	KiB ByteSize = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
)

var byteUnits = map[string]ByteSize{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": KiB, "mib": MiB, "gib": GiB, "tib": TiB,
}

// ParseByteSize reads "26214400", "25MiB", "512 KiB" or "10MB". Units are
// case-insensitive.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := byteUnits[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("%q is not a size: write bytes or a whole number with a unit (B, kB, MB, GB, KiB, MiB, GiB), e.g. \"25MiB\"", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/int64(mult) {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return ByteSize(n) * mult, nil
}

// String writes the size with the largest unit that divides it: "25MiB",
// "10MB", or plain bytes: "1000001".
func (b ByteSize) String() string {
	if b != 0 {
		for _, u := range []struct {
			name string
			size ByteSize
		}{{"TiB", TiB}, {"TB", 1e12}, {"GiB", GiB}, {"GB", 1e9}, {"MiB", MiB}, {"MB", 1e6}, {"KiB", KiB}, {"kB", 1e3}} {
			if b%u.size == 0 {
				return strconv.FormatInt(int64(b/u.size), 10) + u.name
			}
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// MarshalText makes printed configurations (check-config --print) show
// "25MiB" rather than 26214400.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}
