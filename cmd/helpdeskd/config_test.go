package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// minimalYAML holds the required keys only.
const minimalYAML = `
store:
  path: /tmp/helpdeskd.db
support:
  address: support@example.com
imap:
  address: imap.example.com:993
  username: support@example.com
  password: secret
smtp:
  address: smtp.example.com:587
`

// withIMAP adds lines to the imap section of minimalYAML.
func withIMAP(lines string) string {
	return strings.Replace(minimalYAML, "  password: secret\n", "  password: secret\n"+lines, 1)
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "helpdeskd.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, content string) *Config {
	t.Helper()
	c, err := LoadConfig(writeConfig(t, content))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	return c
}

// loadErr loads content and returns the error's lines.
func loadErr(t *testing.T, content string) ([]string, error) {
	t.Helper()
	_, err := LoadConfig(writeConfig(t, content))
	if err == nil {
		t.Fatalf("LoadConfig succeeded, want an error")
	}
	return strings.Split(err.Error(), "\n"), err
}

// validConfig is a Config that passes Validate.
func validConfig() *Config {
	c := Defaults()
	c.Store.Path = "/tmp/helpdeskd.db"
	c.Support.Address = "support@example.com"
	c.IMAP.Address = "imap.example.com:993"
	c.IMAP.Username = "support@example.com"
	c.IMAP.Password = "secret"
	c.SMTP.Address = "smtp.example.com:587"
	return c
}

func TestLoadConfigAppliesDefaultsForAbsentKeys(t *testing.T) {
	got := load(t, minimalYAML)
	want := validConfig()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadConfig(minimal) =\n%+v\nwant\n%+v", got, want)
	}
}

func TestLoadConfigEmptySectionKeepsDefaults(t *testing.T) {
	// Every metrics and log key commented out leaves "metrics:" and
	// "log:" null; defaults and environment must still apply, always
	// (viper's own merge picks a winner at random here).
	t.Setenv("HELPDESKD_METRICS_LISTEN", "127.0.0.1:9999")
	p := writeConfig(t, minimalYAML+"metrics:\n  # listen: 127.0.0.1:9154\nlog:\n")
	for range 20 {
		c, err := LoadConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		if c.Metrics.Listen != "127.0.0.1:9999" || c.Log.Level != "info" {
			t.Fatalf("metrics.listen = %q, log.level = %q; want the env value and the default", c.Metrics.Listen, c.Log.Level)
		}
	}
}

func TestLoadConfigWithoutFileUsesEnvironmentAndDefaults(t *testing.T) {
	t.Setenv("HELPDESKD_STORE_PATH", "/data/h.db")
	c, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Path != "/data/h.db" || c.IMAP.Mailbox != "INBOX" {
		t.Errorf("store.path = %q, imap.mailbox = %q", c.Store.Path, c.IMAP.Mailbox)
	}
}

func TestLoadConfigUnknownKeys(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		lines []string // the whole error, line by line, in order
	}{
		{
			name:  "nested_typo_suggests_the_key",
			yaml:  minimalYAML + "  pasword: x\n", // under smtp
			lines: []string{"smtp.pasword: unknown key; did you mean smtp.password?"},
		},
		{
			name:  "imap_pasword",
			yaml:  strings.Replace(minimalYAML, "  password: secret", "  pasword: secret", 1),
			lines: []string{"imap.pasword: unknown key; did you mean imap.password?"},
		},
		{
			name:  "section_typo_suggests_the_section",
			yaml:  minimalYAML + "metrcs:\n  listen: 127.0.0.1:1\n",
			lines: []string{"metrcs: unknown key; did you mean metrics?"},
		},
		{
			name:  "unknown_section_named_once",
			yaml:  minimalYAML + "widgetry:\n  oslo:\n    tz: Europe/Oslo\n    hours: x\n",
			lines: []string{"widgetry: unknown key; the sections are " + strings.Join(sectionNames(), ", ")},
		},
		{
			name:  "far_from_any_key_lists_the_keys",
			yaml:  minimalYAML + "log:\n  colour: true\n",
			lines: []string{"log.colour: unknown key; the keys of log are level, format"},
		},
		{
			name: "several_reported_at_once_sorted",
			yaml: strings.Replace(minimalYAML, "  path: /tmp/helpdeskd.db\n", "  path: /x\n  lock_timout: 1s\n", 1) + "  tls: true\n",
			lines: []string{
				"smtp.tls: unknown key; the keys of smtp are address, security, allow_insecure, username, password, password_file, helo, timeout, retry_min, retry_max, give_up_after",
				"store.lock_timout: unknown key; did you mean store.lock_timeout?",
			},
		},
		{
			name:  "keys_are_case_insensitive_but_still_checked",
			yaml:  minimalYAML + "  Pasword: x\n",
			lines: []string{"smtp.pasword: unknown key; did you mean smtp.password?"},
		},
		{
			name:  "section_given_as_a_value",
			yaml:  minimalYAML + "log: debug\n",
			lines: []string{"log: is a section, not a value; give its keys (level, format) indented beneath it"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, err := loadErr(t, tt.yaml)
			if !slices.Equal(lines, tt.lines) {
				t.Errorf("error lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(tt.lines, "\n"))
			}
			var ke *KeyError
			if !errors.As(err, &ke) {
				t.Errorf("error %v holds no *KeyError", err)
			}
		})
	}
}

func TestLoadConfigUnknownKeyIsErrUnknownKey(t *testing.T) {
	_, err := loadErr(t, minimalYAML+"  pasword: x\n")
	if !errors.Is(err, ErrUnknownKey) {
		t.Errorf("errors.Is(%v, ErrUnknownKey) = false", err)
	}
}

func TestLoadConfigMapKeysWithDotsAreNotNested(t *testing.T) {
	c := load(t, minimalYAML+"languages:\n  domains:\n    Example.NO: nb\n    example.se: sv\n")
	want := map[string]string{"example.no": "nb", "example.se": "sv"}
	if !reflect.DeepEqual(c.Languages.Domains, want) {
		t.Errorf("languages.domains = %v, want %v", c.Languages.Domains, want)
	}
}

func TestLoadConfigEnvironmentOverrides(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		env   map[string]string
		check func(c *Config) bool
	}{
		{
			name:  "key_absent_from_file",
			yaml:  strings.Replace(minimalYAML, "  password: secret\n", "", 1),
			env:   map[string]string{"HELPDESKD_IMAP_PASSWORD": "from-env"},
			check: func(c *Config) bool { return c.IMAP.Password == "from-env" },
		},
		{
			name:  "section_absent_from_file",
			yaml:  minimalYAML,
			env:   map[string]string{"HELPDESKD_ACKS_PER_SENDER_PER_HOUR": "2"},
			check: func(c *Config) bool { return c.Acks.PerSenderPerHour == 2 },
		},
		{
			name: "nested_duration",
			yaml: minimalYAML,
			env:  map[string]string{"HELPDESKD_IMAP_IDLE_REFRESH": "20m", "HELPDESKD_SMTP_RETRY_MAX": "2h30m"},
			check: func(c *Config) bool {
				return c.IMAP.IdleRefresh == 20*time.Minute && c.SMTP.RetryMax == 150*time.Minute
			},
		},
		{
			name:  "environment_beats_file",
			yaml:  minimalYAML + "log:\n  level: warn\n",
			env:   map[string]string{"HELPDESKD_LOG_LEVEL": "debug"},
			check: func(c *Config) bool { return c.Log.Level == "debug" },
		},
		{
			name:  "empty_variable_counts_as_unset",
			yaml:  minimalYAML + "log:\n  level: warn\n",
			env:   map[string]string{"HELPDESKD_LOG_LEVEL": ""},
			check: func(c *Config) bool { return c.Log.Level == "warn" },
		},
		{
			name: "bool_size_and_int",
			yaml: minimalYAML,
			env:  map[string]string{"HELPDESKD_METRICS_ALLOW_PUBLIC": "true", "HELPDESKD_IMAP_MAX_MESSAGE_SIZE": "10MB", "HELPDESKD_IMAP_BATCH_SIZE": "7"},
			check: func(c *Config) bool {
				return c.Metrics.AllowPublic && c.IMAP.MaxMessageSize == 10_000_000 && c.IMAP.BatchSize == 7
			},
		},
		{
			name: "list_is_comma_separated",
			yaml: minimalYAML,
			env:  map[string]string{"HELPDESKD_SUPPORT_OWN_ADDRESSES": "a@example.com, b@example.com,"},
			check: func(c *Config) bool {
				return slices.Equal(c.Support.OwnAddresses, []string{"a@example.com", "b@example.com"})
			},
		},
		{
			name: "map_is_key_value_pairs_and_replaces_the_file_map",
			yaml: minimalYAML + "languages:\n  domains:\n    example.dk: en\n",
			env:  map[string]string{"HELPDESKD_LANGUAGES_DOMAINS": "example.no=nb, Example.SE=sv"},
			check: func(c *Config) bool {
				return reflect.DeepEqual(c.Languages.Domains, map[string]string{"example.no": "nb", "example.se": "sv"})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c := load(t, tt.yaml)
			if !tt.check(c) {
				t.Errorf("config with %v: %+v", tt.env, c)
			}
		})
	}
}

func TestLoadConfigBadValues(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want string
	}{
		{"duration_without_unit", minimalYAML + "  timeout: 60\n", nil,
			`smtp.timeout: 60 has no unit: write e.g. "60s" for seconds or "60m" for minutes`},
		{"duration_garbage", minimalYAML + "  timeout: soon\n", nil,
			`smtp.timeout: "soon" is not a duration: write a number with a unit, e.g. "60s", "25m", "1h"`},
		{"bad_size", withIMAP("  max_message_size: 25 megs\n"), nil,
			`imap.max_message_size: "25 megs" is not a size`},
		{"negative_size", withIMAP("  max_message_size: -1\n"), nil,
			`imap.max_message_size: -1 is negative`},
		{"env_value_names_the_variable", minimalYAML, map[string]string{"HELPDESKD_IMAP_POLL_INTERVAL": "often"},
			`imap.poll_interval: "often" is not a duration: write a number with a unit, e.g. "60s", "25m", "1h" (value from HELPDESKD_IMAP_POLL_INTERVAL)`},
		{"not_an_int", minimalYAML + "  timeout: 1m\nacks:\n  global_per_hour: many\n", nil,
			`acks.global_per_hour: cannot parse value as 'int'`},
		{"map_from_env_without_equals", minimalYAML, map[string]string{"HELPDESKD_LANGUAGES_DOMAINS": "example.no"},
			`languages.domains: "example.no" is not key=value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := loadErr(t, tt.yaml)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if !errors.Is(err, ErrBadValue) {
				t.Errorf("errors.Is(%v, ErrBadValue) = false", err)
			}
		})
	}
}

func TestLoadConfigReportsFileProblems(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	_, err = loadErr(t, "store:\n  path: [\n")
	if !strings.Contains(err.Error(), "line") {
		t.Errorf("YAML syntax error does not say where: %v", err)
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr bool
	}{
		{"0", 0, false},
		{"26214400", 25 * MiB, false},
		{"25MiB", 25 << 20, false},
		{"25 mib", 25 << 20, false},
		{"512KiB", 512 << 10, false},
		{"10MB", 10_000_000, false},
		{"10kB", 10_000, false},
		{"10KB", 10_000, false},
		{"2GiB", 2 << 30, false},
		{"1TB", 1e12, false},
		{"100B", 100, false},
		{"  7  ", 7, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"1.5MiB", 0, true},
		{"-1", 0, true},
		{"10M", 0, true},
		{"99999999999999999999", 0, true},
		{"9000000TiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestByteSizeString(t *testing.T) {
	tests := map[ByteSize]string{
		0: "0", 1: "1", 1000: "1kB", 1024: "1KiB", 25 * MiB: "25MiB",
		10_000_000: "10MB", 1_000_001: "1000001", 3 * GiB: "3GiB", 2 * TiB: "2TiB",
	}
	for in, want := range tests {
		if got := in.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(in), got, want)
		}
	}
}

func TestLoadConfigSizeForms(t *testing.T) {
	for in, want := range map[string]ByteSize{"1048576": MiB, "\"512KiB\"": 512 * KiB, "10MB": 10_000_000, "1e6": 1_000_000} {
		c := load(t, withIMAP("  max_message_size: "+in+"\n"))
		if c.IMAP.MaxMessageSize != want {
			t.Errorf("max_message_size: %s = %d, want %d", in, c.IMAP.MaxMessageSize, want)
		}
	}
}

func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"25MiB", "10MB", "0", "1 kib", "x", "18446744073709551616"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseByteSize(s)
		if err != nil {
			return
		}
		if b < 0 {
			t.Fatalf("ParseByteSize(%q) = %d < 0", s, b)
		}
		again, err := ParseByteSize(b.String())
		if err != nil || again != b {
			t.Fatalf("ParseByteSize(%q) = %d, String %q reads back as %d, %v", s, b, b.String(), again, err)
		}
	})
}

func TestValidateListsEveryProblemAtOnce(t *testing.T) {
	err := Defaults().Validate()
	want := []string{
		`store.path: required, e.g. "/var/lib/helpdeskd/helpdeskd.db"`,
		`support.address: required, e.g. "support@example.com"`,
		`imap.address: required, e.g. "imap.example.com:993"`,
		`imap.username: required, e.g. "support@example.com"`,
		`imap.password: required: set imap.password, imap.password_file or HELPDESKD_IMAP_PASSWORD`,
		`smtp.address: required, e.g. "smtp.example.com:587"`,
	}
	if err == nil {
		t.Fatal("Validate of empty config succeeded")
	}
	if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("Validate:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string // the whole error, line by line; nil: valid
	}{
		{"valid", func(*Config) {}, nil},
		{"support_address_with_display_name", func(c *Config) { c.Support.Address = "Support <support@example.com>" },
			[]string{`support.address: "Support <support@example.com>": give the bare address, e.g. "support@example.com"; the display name belongs in support.name`}},
		{"support_address_unparsable", func(c *Config) { c.Support.Address = "support" },
			[]string{`support.address: "support" is not a mail address (mail: missing '@' or angle-addr), e.g. "support@example.com"`}},
		{"own_address_bad", func(c *Config) { c.Support.OwnAddresses = []string{"ok@example.com", "bad"} },
			[]string{`support.own_addresses[1]: "bad" is not a mail address (mail: missing '@' or angle-addr), e.g. "support@example.com"`}},
		{"case_prefix_lower_case", func(c *Config) { c.Support.CasePrefix = "hd" },
			[]string{`support.case_prefix: "hd" must be an upper-case letter and at most 9 more upper-case letters or digits, e.g. "HD"`}},
		{"case_prefix_too_long", func(c *Config) { c.Support.CasePrefix = "ABCDEFGHIJK" },
			[]string{`support.case_prefix: "ABCDEFGHIJK" must be an upper-case letter and at most 9 more upper-case letters or digits, e.g. "HD"`}},
		{"case_prefix_ten_chars_ok", func(c *Config) { c.Support.CasePrefix = "A123456789" }, nil},
		{"loop_id_with_space", func(c *Config) { c.Support.LoopID = "a b" },
			[]string{`support.loop_id: "a b" must be printable ASCII without spaces; leave it empty to use the support address`}},
		{"hostname_bad", func(c *Config) { c.Support.Hostname = "mail_host" },
			[]string{`support.hostname: "mail_host" is not a host name; leave it empty to use the domain of support.address`}},
		{"imap_address_without_port", func(c *Config) { c.IMAP.Address = "imap.example.com" },
			[]string{`imap.address: "imap.example.com" is not host:port, e.g. "imap.example.com:993"`}},
		{"imap_port_out_of_range", func(c *Config) { c.IMAP.Address = "imap.example.com:99999" },
			[]string{`imap.address: port "99999" must be a number from 1 to 65535`}},
		{"imap_named_port", func(c *Config) { c.IMAP.Address = "imap.example.com:imaps" },
			[]string{`imap.address: port "imaps" must be a number from 1 to 65535`}},
		{"imap_no_host", func(c *Config) { c.IMAP.Address = ":993" },
			[]string{`imap.address: ":993" has no host, e.g. "imap.example.com:993"`}},
		{"imap_security_unknown", func(c *Config) { c.IMAP.Security = "ssl" },
			[]string{`imap.security: "ssl" is not one of tls, starttls, plain`}},
		{"imap_plain_to_remote_host", func(c *Config) { c.IMAP.Security = SecurityPlain },
			[]string{`imap.security: plain sends passwords and mail unencrypted to imap.example.com, which is not a loopback host; use tls or starttls, or set imap.allow_insecure: true`}},
		{"imap_plain_allowed", func(c *Config) { c.IMAP.Security, c.IMAP.AllowInsecure = SecurityPlain, true }, nil},
		{"imap_plain_to_localhost", func(c *Config) { c.IMAP.Security, c.IMAP.Address = SecurityPlain, "localhost:143" }, nil},
		{"imap_plain_to_127_0_0_2", func(c *Config) { c.IMAP.Security, c.IMAP.Address = SecurityPlain, "127.0.0.2:143" }, nil},
		{"imap_plain_to_ipv6_loopback", func(c *Config) { c.IMAP.Security, c.IMAP.Address = SecurityPlain, "[::1]:143" }, nil},
		{"smtp_plain_to_remote_ip", func(c *Config) { c.SMTP.Security, c.SMTP.Address = SecurityPlain, "192.0.2.1:25" },
			[]string{`smtp.security: plain sends passwords and mail unencrypted to 192.0.2.1, which is not a loopback host; use tls or starttls, or set smtp.allow_insecure: true`}},
		{"mailbox_empty", func(c *Config) { c.IMAP.Mailbox = "" },
			[]string{`imap.mailbox: must not be empty; the default is "INBOX"`}},
		{"processed_mailbox_is_mailbox", func(c *Config) { c.IMAP.ProcessedMailbox = "INBOX" },
			[]string{`imap.processed_mailbox: "INBOX" is imap.mailbox itself; name another mailbox, or "" to only mark processed mail \Seen`}},
		{"idle_refresh_too_long", func(c *Config) { c.IMAP.IdleRefresh = 29 * time.Minute },
			[]string{`imap.idle_refresh: 29m0s must be below 29m: servers may drop an IDLE after 30 minutes; the default is 25m`}},
		{"durations_not_positive", func(c *Config) { c.IMAP.PollInterval, c.Store.LockTimeout, c.SMTP.GiveUpAfter = 0, -time.Second, 0 },
			[]string{
				`store.lock_timeout: -1s must be positive, e.g. "1s"`,
				`imap.poll_interval: 0s must be positive, e.g. "60s"`,
				`smtp.give_up_after: 0s must be positive, e.g. "120h"`,
			}},
		{"size_and_batch", func(c *Config) { c.IMAP.MaxMessageSize, c.IMAP.BatchSize = 0, 0 },
			[]string{`imap.max_message_size: must be positive, e.g. "25MiB"`, `imap.batch_size: 0 must be at least 1, e.g. 100`}},
		{"retry_min_above_max", func(c *Config) { c.SMTP.RetryMin = 2 * time.Hour },
			[]string{`smtp.retry_max: 1h0m0s is below smtp.retry_min (2h0m0s); raise it or lower smtp.retry_min`}},
		{"smtp_password_without_username", func(c *Config) { c.SMTP.Password = "x" },
			[]string{`smtp.username: empty, yet a password is given; give the username, or remove the password to send without authentication`}},
		{"smtp_username_without_password", func(c *Config) { c.SMTP.Username = "u" },
			[]string{`smtp.password: required: set smtp.password, smtp.password_file or HELPDESKD_SMTP_PASSWORD`}},
		{"smtp_helo_bad", func(c *Config) { c.SMTP.Helo = "not a name" },
			[]string{`smtp.helo: "not a name" is not a host name; leave it empty to use support.hostname`}},
		{"acks_zero", func(c *Config) { c.Acks.PerSenderPerHour, c.Acks.GlobalPerHour = 0, 0 },
			[]string{
				`acks.per_sender_per_hour: 0 must be at least 1 (the default is 5); use acks.noreply_patterns or support.own_addresses to silence senders`,
				`acks.global_per_hour: 0 must be at least 1; the default is 500`,
			}},
		{"noreply_pattern_with_at", func(c *Config) { c.Acks.NoReplyPatterns = []string{"noreply", "x@y", ""} },
			[]string{
				`acks.noreply_patterns[1]: "x@y" must be a non-empty part of a local part, without '@' or spaces, e.g. "noreply"`,
				`acks.noreply_patterns[2]: "" must be a non-empty part of a local part, without '@' or spaces, e.g. "noreply"`,
			}},
		{"noreply_patterns_may_be_empty", func(c *Config) { c.Acks.NoReplyPatterns = nil }, nil},
		{"language_unknown", func(c *Config) { c.Languages.Default = "de" },
			[]string{`languages.default: "de" is not a language we have mail texts in; use one of en, nb, sv`}},
		{"domains", func(c *Config) {
			c.Languages.Domains = map[string]string{"example.no": "nb", "Example.SE": "sv", "bad_domain": "en", "example.de": "de"}
		}, []string{
			`languages.domains["Example.SE"]: "Example.SE" is not a lower-case domain name; write e.g. "example.no" (international domains in their xn-- form)`,
			`languages.domains["bad_domain"]: "bad_domain" is not a lower-case domain name; write e.g. "example.no" (international domains in their xn-- form)`,
			`languages.domains["example.de"]: "de" is not a language we have mail texts in; use one of en, nb, sv`,
		}},
		{"log_enums", func(c *Config) { c.Log.Level, c.Log.Format = "verbose", "xml" },
			[]string{`log.level: "verbose" is not one of debug, info, warn, error`, `log.format: "xml" is not one of text, json`}},
		{"metrics_public", func(c *Config) { c.Metrics.Listen = ":9154" },
			[]string{`metrics.listen: ":9154" is reachable from other machines; listen on "127.0.0.1:9154", or set metrics.allow_public: true`}},
		{"metrics_public_ip", func(c *Config) { c.Metrics.Listen = "192.0.2.1:9154" },
			[]string{`metrics.listen: "192.0.2.1:9154" is reachable from other machines; listen on "127.0.0.1:9154", or set metrics.allow_public: true`}},
		{"metrics_public_allowed", func(c *Config) { c.Metrics.Listen, c.Metrics.AllowPublic = ":9154", true }, nil},
		{"metrics_ipv6_loopback", func(c *Config) { c.Metrics.Listen = "[::1]:9154" }, nil},
		{"metrics_disabled", func(c *Config) { c.Metrics.Listen = "" }, nil},
		{"metrics_not_host_port", func(c *Config) { c.Metrics.Listen = "9154" },
			[]string{`metrics.listen: "9154" is not host:port, e.g. "127.0.0.1:9154"; "" disables the listener`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			err := c.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Validate:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestValidateFillsDerivedDefaults(t *testing.T) {
	c := validConfig()
	c.Support.Address = "Support@Example.COM"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Support.LoopID != "support@example.com" || c.Support.Hostname != "example.com" || c.SMTP.Helo != "example.com" {
		t.Errorf("loop_id %q, hostname %q, helo %q", c.Support.LoopID, c.Support.Hostname, c.SMTP.Helo)
	}

	c = validConfig()
	c.Support.Hostname = "mx.example.net"
	c.Support.LoopID = "desk-1"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Support.LoopID != "desk-1" || c.SMTP.Helo != "mx.example.net" {
		t.Errorf("given values not kept: loop_id %q, helo %q", c.Support.LoopID, c.SMTP.Helo)
	}
}

func TestValidatePasswords(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	withNewline := file("imap-pw", "s3cret \n")
	crlf := file("smtp-pw", "other\r\n")
	empty := file("empty", "\n")
	missing := filepath.Join(dir, "missing")

	t.Run("password_file_is_read_and_trailing_newline_dropped", func(t *testing.T) {
		c := validConfig()
		c.IMAP.Password, c.IMAP.PasswordFile = "", withNewline
		c.SMTP.Username, c.SMTP.PasswordFile = "u", crlf
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if c.IMAP.Password != "s3cret " || c.SMTP.Password != "other" {
			t.Errorf("passwords %q, %q", c.IMAP.Password, c.SMTP.Password)
		}
		// Validate again: the password read from the file is not taken
		// for a second password.
		if err := c.Validate(); err != nil {
			t.Errorf("second Validate: %v", err)
		}
	})
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string
	}{
		{"password_and_file", func(c *Config) { c.IMAP.PasswordFile = withNewline },
			`imap.password_file: both imap.password (or HELPDESKD_IMAP_PASSWORD) and imap.password_file are set; keep one`},
		{"missing_file", func(c *Config) { c.IMAP.Password, c.IMAP.PasswordFile = "", missing },
			`imap.password_file: reading ` + missing + `: no such file or directory; give a file helpdeskd can read, or use imap.password or HELPDESKD_IMAP_PASSWORD`},
		{"empty_file", func(c *Config) { c.SMTP.Username, c.SMTP.PasswordFile = "u", empty },
			`smtp.password_file: ` + empty + ` is empty; write the password into it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			err := c.Validate()
			if err == nil || err.Error() != tt.want {
				t.Errorf("Validate = %v\nwant %s", err, tt.want)
			}
		})
	}

	t.Run("environment_password_and_file_conflict", func(t *testing.T) {
		t.Setenv("HELPDESKD_IMAP_PASSWORD", "env")
		c := load(t, strings.Replace(minimalYAML, "  password: secret", "  password_file: "+withNewline, 1))
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "imap.password_file: both imap.password (or HELPDESKD_IMAP_PASSWORD)") {
			t.Errorf("Validate = %v", err)
		}
	})
}

func TestRedacted(t *testing.T) {
	c := validConfig()
	c.SMTP.Username, c.SMTP.Password = "u", "smtp-secret"
	c.Support.OwnAddresses = []string{"a@example.com"}
	c.Languages.Domains = map[string]string{"example.no": "nb"}
	r := c.Redacted()
	if r.IMAP.Password != "***" || r.SMTP.Password != "***" {
		t.Errorf("redacted passwords %q, %q", r.IMAP.Password, r.SMTP.Password)
	}
	if c.IMAP.Password != "secret" || c.SMTP.Password != "smtp-secret" {
		t.Errorf("Redacted changed the original")
	}
	r.Support.OwnAddresses[0] = "x"
	r.Languages.Domains["example.no"] = "sv"
	r.Acks.NoReplyPatterns[0] = "x"
	if c.Support.OwnAddresses[0] != "a@example.com" || c.Languages.Domains["example.no"] != "nb" || c.Acks.NoReplyPatterns[0] != "noreply" {
		t.Errorf("Redacted shares slices or maps with the original")
	}
	c.SMTP.Password = ""
	if r := c.Redacted(); r.SMTP.Password != "" {
		t.Errorf("an unset password is shown as %q", r.SMTP.Password)
	}
}

func TestPrintedConfigLoadsBack(t *testing.T) {
	// check-config --print writes the Redacted config as YAML; what it
	// prints must be a valid configuration with the same values.
	c := validConfig()
	c.Support.OwnAddresses = []string{"help@example.com"}
	c.Languages.Domains = map[string]string{"example.no": "nb"}
	c.IMAP.MaxMessageSize = 10 * MiB
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "max_message_size: 10MiB") || !strings.Contains(string(out), "idle_refresh: 25m0s") {
		t.Errorf("printed config does not show sizes and durations readably:\n%s", out)
	}
	got := load(t, string(out))
	if !reflect.DeepEqual(got, c) {
		t.Errorf("printed and loaded back:\n%+v\nwant\n%+v", got, c)
	}
}

func TestExampleConfig(t *testing.T) {
	const path = "../../config.example.yaml"
	t.Setenv("HELPDESKD_IMAP_PASSWORD", "example-password")
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("LoadConfig(%s): %v", path, err)
	}
	if c.IMAP.Password != "example-password" {
		t.Errorf("imap.password from the environment = %q", c.IMAP.Password)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("%s does not validate:\n%v", path, err)
	}

	// Every key is written out with a comment.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, l := range configLeaves() {
		key, val := lookupNode(doc.Content[0], l.path)
		if key == nil {
			t.Errorf("%s: key %s is missing", path, l.key())
			continue
		}
		if key.HeadComment == "" && key.LineComment == "" && val.LineComment == "" {
			t.Errorf("%s: key %s has no comment", path, l.key())
		}
	}

	// Every key not required (and not a display name) shows its default.
	exampleOnly := map[string]bool{
		"store.path": true, "support.address": true, "support.name": true,
		"imap.address": true, "imap.username": true, "imap.password": true, "smtp.address": true,
		// SLA examples (slaconfig.go): the defaults are none.
		"calendars": true, "plans": true, "agreements": true, "sla.default_plan": true, "sla.groups": true,
	}
	// Compared with the file as loaded, before Validate filled derived keys.
	c2, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	loaded := reflect.ValueOf(c2).Elem()
	defaults := reflect.ValueOf(Defaults()).Elem()
	for _, l := range configLeaves() {
		if exampleOnly[l.key()] {
			continue
		}
		got, want := loaded.FieldByIndex(l.index), defaults.FieldByIndex(l.index)
		if empty(got) && empty(want) {
			continue // nil and empty maps and lists
		}
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			t.Errorf("%s: %s is %v, but the default is %v", path, l.key(), got, want)
		}
	}
}

// empty: zero, or a list or map without entries.
func empty(v reflect.Value) bool {
	if k := v.Kind(); k == reflect.Slice || k == reflect.Map {
		return v.Len() == 0
	}
	return v.IsZero()
}

// lookupNode finds the key and value nodes of path in a mapping node.
func lookupNode(m *yaml.Node, path []string) (key, val *yaml.Node) {
	for i, name := range path {
		if m.Kind != yaml.MappingNode {
			return nil, nil
		}
		key = nil
		for j := 0; j+1 < len(m.Content); j += 2 {
			if m.Content[j].Value == name {
				key, val = m.Content[j], m.Content[j+1]
				break
			}
		}
		if key == nil {
			return nil, nil
		}
		if i < len(path)-1 {
			m = val
		}
	}
	return key, val
}

func TestEverySectionIsValidated(t *testing.T) {
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !reflect.PointerTo(f.Type).Implements(reflect.TypeFor[section]()) {
			t.Errorf("Config.%s (%s) has no check method: Validate would skip it", f.Name, f.Type)
		}
	}
}

func TestEnvironmentNamesAreDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, l := range configLeaves() {
		if other, ok := seen[l.envName()]; ok {
			t.Errorf("%s and %s share %s", other, l.key(), l.envName())
		}
		seen[l.envName()] = l.key()
	}
	if seen["HELPDESKD_IMAP_PASSWORD"] != "imap.password" || seen["HELPDESKD_SMTP_GIVE_UP_AFTER"] != "smtp.give_up_after" {
		t.Errorf("environment names: %v", seen)
	}
}

func TestSlogLevel(t *testing.T) {
	for level, want := range map[string]string{"debug": "DEBUG", "info": "INFO", "warn": "WARN", "error": "ERROR"} {
		if got := (LogConfig{Level: level}).SlogLevel().String(); got != want {
			t.Errorf("SlogLevel(%s) = %s", level, got)
		}
	}
}

func BenchmarkLoadConfig(b *testing.B) {
	p := filepath.Join(b.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(minimalYAML), 0o600); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := LoadConfig(p); err != nil {
			b.Fatal(err)
		}
	}
}

// sectionNames lists the top-level keys of Config in order.
func sectionNames() []string {
	var out []string
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("mapstructure"), ",")
		out = append(out, name)
	}
	return out
}
