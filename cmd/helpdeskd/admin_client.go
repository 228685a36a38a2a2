package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// The CLI side of the admin API: how a subcommand finds the running
// daemon, talks to it, and explains why it cannot.

// errNotRunning: no daemon answers. Commands exit with status 3 then, as
// LSB init scripts do for "not running".
var errNotRunning = errors.New("helpdeskd is not running")

// exitNotRunning is the exit status for errNotRunning.
const exitNotRunning = 3

// discardLog silences the store's log lines in CLI commands.
var discardLog = slog.New(slog.DiscardHandler)

// adminFlags are the flags every admin client command shares.
type adminFlags struct {
	config    string // configuration file to find the socket in
	socket    string // explicit socket path
	addr      string // loopback host:port of admin.listen instead of the socket
	tokenFile string // bearer token for addr
}

func (f *adminFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.config, "config", "c", defaultConfigPath, "configuration file; the admin socket is found from admin.socket or store.path")
	cmd.Flags().StringVar(&f.socket, "socket", "", "admin socket path (instead of reading the configuration)")
	cmd.Flags().StringVar(&f.addr, "addr", "", "admin.listen host:port to use instead of the socket (needs --token-file)")
	cmd.Flags().StringVar(&f.tokenFile, "token-file", "", "file with the bearer token for --addr")
}

// socketPath finds the admin socket: --socket, else the configuration's
// admin.socket or admin.sock beside store.path. The configuration is
// loaded but not validated, so password files need not be readable.
func (f *adminFlags) socketPath() (string, error) {
	if f.socket != "" {
		return f.socket, nil
	}
	var s string
	cfg, err := LoadConfig(f.config)
	if err == nil {
		s = cfg.Admin.SocketPath(cfg.Store.Path)
	} else if s = lenientSocketPath(f.config); s == "" {
		return "", fmt.Errorf("finding the admin socket: %w\n(give the configuration with -c FILE, or the socket with --socket PATH)", err)
	}
	if s == "" {
		return "", fmt.Errorf("%s sets neither admin.socket nor store.path; give the socket with --socket PATH", f.config)
	}
	return s, nil
}

// lenientSocketPath reads only store.path and admin.socket (and their
// environment overrides) from a configuration that does not load, so that
// an operator halfway through editing it can still reach the daemon
// running on the previous one. "" when the file says neither.
func lenientSocketPath(path string) string {
	var c struct {
		Store struct {
			Path string `yaml:"path"`
		} `yaml:"store"`
		Admin struct {
			Socket string `yaml:"socket"`
		} `yaml:"admin"`
	}
	if b, err := os.ReadFile(path); err == nil {
		yaml.Unmarshal(b, &c) // whatever decodes
	}
	if v := os.Getenv(EnvPrefix + "STORE_PATH"); v != "" {
		c.Store.Path = v
	}
	if v := os.Getenv(EnvPrefix + "ADMIN_SOCKET"); v != "" {
		c.Admin.Socket = v
	}
	a := AdminConfig{Socket: c.Admin.Socket}
	return a.SocketPath(c.Store.Path)
}

// adminClient talks to one daemon's admin API.
type adminClient struct {
	http   *http.Client
	base   string
	token  string
	where  string // "the admin socket at /var/lib/helpdeskd/admin.sock"
	socket string // "" over TCP
}

func (f *adminFlags) client() (*adminClient, error) {
	if f.addr != "" {
		if f.tokenFile == "" {
			return nil, errors.New("--addr needs --token-file with the admin token")
		}
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("reading the admin token: %w", err)
		}
		return &adminClient{
			http:  &http.Client{},
			base:  "http://" + f.addr,
			token: strings.TrimRight(string(b), "\r\n"),
			where: "the admin API at " + f.addr,
		}, nil
	}
	path, err := f.socketPath()
	if err != nil {
		return nil, err
	}
	return newSocketClient(path), nil
}

func newSocketClient(path string) *adminClient {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}
	return &adminClient{
		http:   &http.Client{Transport: tr},
		base:   "http://helpdeskd",
		where:  "the admin socket at " + path,
		socket: path,
	}
}

// explain turns a connection failure into what the operator needs.
func (c *adminClient) explain(err error) error {
	var errno syscall.Errno
	switch {
	case c.socket != "" && errors.Is(err, fs.ErrNotExist):
		return &exitError{code: exitNotRunning, err: fmt.Errorf("%w (no admin socket at %s)", errNotRunning, c.socket)}
	case errors.Is(err, syscall.ECONNREFUSED):
		if c.socket != "" {
			return &exitError{code: exitNotRunning, err: fmt.Errorf("%w (nothing listens on the admin socket at %s; left over from a daemon that died?)", errNotRunning, c.socket)}
		}
		return &exitError{code: exitNotRunning, err: fmt.Errorf("%w (nothing listens on %s)", errNotRunning, c.base)}
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("permission denied on %s: run as root or as the daemon's user", c.where)
	case errors.As(err, &errno):
		return fmt.Errorf("connecting to %s: %w", c.where, err)
	}
	return fmt.Errorf("talking to %s: %w", c.where, err)
}

// do sends a request and returns the response of a 2xx status; other
// statuses become the daemon's error message.
func (c *adminClient) do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctxOrBackground(ctx), method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.explain(err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e errorReply
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			if e.Code != "" {
				return nil, &requestError{code: e.Code, msg: e.Error}
			}
			return nil, errors.New(e.Error)
		}
		return nil, fmt.Errorf("%s: %s: %s", c.where, resp.Status, bytes.TrimSpace(b))
	}
	return resp, nil
}

// get decodes a JSON reply into out.
func (c *adminClient) get(ctx context.Context, path string, out any) error {
	return c.call(ctx, http.MethodGet, path, out)
}

func (c *adminClient) call(ctx context.Context, method, path string, out any) error {
	resp, err := c.do(ctx, method, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the reply of %s: %w", c.where, err)
	}
	return nil
}

// postJSON sends in as a JSON body and decodes the JSON reply into out.
func (c *adminClient) postJSON(ctx context.Context, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, http.MethodPost, path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the reply of %s: %w", c.where, err)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newStatusCmd() *cobra.Command {
	var ac adminFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show whether the daemon runs, and how intake and the outbox are doing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := ac.client()
			if err != nil {
				return err
			}
			var st statusReply
			if err := c.get(cmd.Context(), "/v1/status", &st); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), st)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintf(w, "helpdeskd\t%s, pid %d, up %s\n", st.Version, st.PID, time.Since(st.Started).Round(time.Second))
			fmt.Fprintf(w, "store\t%s\n", st.Store)
			intake := st.Intake
			if st.IntakeError != "" {
				intake += ": " + st.IntakeError
			}
			if !st.IntakeSince.IsZero() {
				intake += " (since " + st.IntakeSince.Local().Format(time.DateTime) + ")"
			}
			fmt.Fprintf(w, "intake\t%s\n", intake)
			out := fmt.Sprintf("%d pending", st.OutboxPending)
			if st.OutboxPending > 0 && !st.OutboxOldest.IsZero() {
				out += fmt.Sprintf(", oldest %s old", time.Since(st.OutboxOldest).Round(time.Second))
			}
			fmt.Fprintf(w, "outbox\t%s\n", out)
			if !st.LastReload.IsZero() {
				r := "ok"
				if st.ReloadError != "" {
					r = "REJECTED, running on the previous configuration:\n" + st.ReloadError
				}
				fmt.Fprintf(w, "last reload\t%s: %s\n", st.LastReload.Local().Format(time.DateTime), r)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	ac.register(cmd)
	return cmd
}

func newReloadCmd() *cobra.Command {
	var ac adminFlags
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Make the running daemon re-read its configuration (as SIGHUP does) and report the outcome",
		Long: `reload asks the running daemon to re-read its configuration file. A
configuration with errors is rejected as a whole: the errors are printed and
the daemon keeps running on the previous one. Changes to imap and smtp
restart intake and the sender; changes to store, metrics and the admin
listeners need a restart and are reported as such.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := ac.client()
			if err != nil {
				return err
			}
			var rep reloadReport
			if err := c.call(cmd.Context(), http.MethodPost, "/v1/reload", &rep); err != nil {
				return fmt.Errorf("reload rejected; the daemon keeps its previous configuration:\n%w", err)
			}
			printReloadReport(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	ac.register(cmd)
	return cmd
}

func printReloadReport(w io.Writer, rep reloadReport) {
	fmt.Fprintln(w, "configuration reloaded")
	if len(rep.Restarted) > 0 {
		fmt.Fprintf(w, "restarted: %s\n", strings.Join(rep.Restarted, ", "))
	}
	for _, s := range rep.NeedRestart {
		fmt.Fprintf(w, "not applied until a restart: %s\n", s)
	}
}
