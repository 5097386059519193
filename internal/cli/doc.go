// Package cli builds kubelite's command line: the role commands (master,
// minion, standalone), kubectl, doctor, version, bench, and hidden helpers
// (pause, webserver, images). main calls Run and only main calls os.Exit.
//
// Contract:
//   - Run(ctx, args, stdout, stderr) returns nil or an error whose Error()
//     is meant for the user as it is: Message(err) flattens it to one line;
//     ExitCode(err) gives the process's exit code. Usage mistakes come back
//     as errors too; nothing here exits the process or prints a stack trace.
//   - Invoked as "kubectl" (a symlink, argv[0]), Run behaves as
//     "kubelite kubectl".
//   - Cancelling ctx (main does on SIGINT/SIGTERM) stops a running role; the
//     role's components stop in reverse order (internal/component.Runner).
//   - A role logs to stderr in --log-format (internal/logging: text or
//     json), info level, debug with --v=1 or more. Its logger goes to roles/
//     in the context (logging.NewContext); logrus' standard logger gets the
//     same setup for code outside kubelite. Embedded etcd's "server closed"
//     errors, which are part of every normal shutdown, are shown only at
//     debug level and then as debug lines.
//   - No package-level state: each Run builds a fresh app and fresh configs.
package cli
