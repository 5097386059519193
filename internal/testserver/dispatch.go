package testserver

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Names the binary answers to as argv[0].
const (
	NamePause       = "pause"
	NameWebserver   = "webserver"
	NameHTTPD       = "httpd"
	NameSupervisord = "supervisord"
	NameSh          = "sh"
)

// VersionEnv and PortEnv configure the web server from the environment.
const (
	VersionEnv = "WEB_VERSION"
	PortEnv    = "WEB_PORT"
)

// DispatchArgv0 runs the image personality named by filepath.Base(args[0]).
// It returns handled=false (and does nothing) for any other name, so main
// goes on to the normal CLI. When handled, the personality has run to
// completion and main should exit with ExitCode(err).
func DispatchArgv0(args []string) (handled bool, err error) {
	if len(args) == 0 {
		return false, nil
	}
	name := filepath.Base(args[0])
	switch name {
	case NamePause, NameWebserver, NameHTTPD, NameSupervisord, NameSh:
	default:
		return false, nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if name != NameSh && len(args) > 1 && args[1] == "healthcheck" {
		return true, healthcheckMain(ctx, args[2:])
	}
	switch name {
	case NamePause:
		fmt.Fprintln(os.Stdout, "pause: waiting for SIGTERM or SIGINT")
		return true, Pause(ctx)
	case NameSh:
		return true, shMain(args[1:], os.Stdout)
	default:
		return true, webserverMain(ctx, name, args[1:], os.Stderr)
	}
}

// webserverMain parses the web server's flags. The tutorial's supervisord is
// started with "-c /etc/supervisord.conf", so unknown flags are accepted
// and ignored for the tutorial's names.
func webserverMain(ctx context.Context, name string, args []string, stderr io.Writer) error {
	cfg, err := ParseFlags(name, args, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: serving on %s (version %q)\n", name, cfg.Addr, cfg.Version)
	cfg.AccessLog = os.Stdout
	return Run(ctx, cfg)
}

// ParseFlags reads the web server configuration from args and the
// environment ($WEB_VERSION, $WEB_PORT). Only the "webserver" personality
// rejects unknown arguments; httpd and supervisord ignore them.
func ParseFlags(name string, args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", envInt(PortEnv, 80), "port to listen on")
	version := fs.String("version", os.Getenv(VersionEnv), "version string to report")
	if name == NameWebserver {
		if err := fs.Parse(args); err != nil {
			return Config{}, fmt.Errorf("webserver flags: %w", err)
		}
	} else {
		// Pick out only our own flags.
		var ours []string
		for i := 0; i < len(args); i++ {
			a := args[i]
			if strings.HasPrefix(a, "--port") || strings.HasPrefix(a, "--version") {
				ours = append(ours, a)
				if !strings.Contains(a, "=") && i+1 < len(args) {
					ours = append(ours, args[i+1])
					i++
				}
			}
		}
		if err := fs.Parse(ours); err != nil {
			return Config{}, fmt.Errorf("%s flags: %w", name, err)
		}
	}
	if *port < 1 || *port > 65535 {
		return Config{}, fmt.Errorf("port %d out of range 1-65535", *port)
	}
	return Config{Addr: ":" + strconv.Itoa(*port), Version: *version}, nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func healthcheckMain(ctx context.Context, args []string) error {
	port := envInt(PortEnv, 80)
	if len(args) > 0 {
		p, err := strconv.Atoi(args[0])
		if err != nil {
			return fmt.Errorf("healthcheck: bad port %q", args[0])
		}
		port = p
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return HealthCheck(ctx, fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
}

// ShWords turns the arguments of a minimal "sh" into the command to exec:
// only "sh -c 'cmd words...'" is understood. Words are split on blanks;
// single and double quotes group words (no escapes, no expansions).
func ShWords(args []string) ([]string, error) {
	if len(args) < 2 || args[0] != "-c" {
		return nil, errors.New("sh: only 'sh -c COMMAND' is supported")
	}
	return splitWords(args[1])
}

func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote = r
			inWord = true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("sh: unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("sh: empty command")
	}
	return words, nil
}

// shMain execs the words of "sh -c". The builtins true, false and exit N are
// handled in place.
func shMain(args []string, stdout io.Writer) error {
	words, err := ShWords(args)
	if err != nil {
		return err
	}
	switch words[0] {
	case "true", ":":
		return nil
	case "false":
		return &ExitError{Code: 1}
	case "exit":
		code := 0
		if len(words) > 1 {
			if code, err = strconv.Atoi(words[1]); err != nil {
				return fmt.Errorf("sh: exit: bad code %q", words[1])
			}
		}
		return &ExitError{Code: code}
	case "echo":
		fmt.Fprintln(stdout, strings.Join(words[1:], " "))
		return nil
	}
	path := words[0]
	if !strings.Contains(path, "/") {
		p, err := exec.LookPath(path)
		if err != nil {
			return &ExitError{Code: 127}
		}
		path = p
	}
	if err := syscall.Exec(path, words, os.Environ()); err != nil {
		return fmt.Errorf("sh: exec %s: %w", path, err)
	}
	return nil
}
