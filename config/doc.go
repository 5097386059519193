// Package config defines each role's flags and reads the tutorial's
// /etc/kubernetes env files, producing one typed configuration per role:
// Master, Minion and Standalone. There is no package-level state: NewMaster,
// NewMinion and NewStandalone return a fresh struct and urfave/cli flags bound
// to it.
//
// Contract:
//   - Every multi-word flag has both spellings (--portal_net and --portal-net)
//     and an environment fallback KUBELITE_<NAME> (--docker-endpoint also
//     reads DOCKER_HOST). Flags carry a Category so usage groups them by area.
//   - Load(cCtx, sys), called from the command's Action, reads the role's files
//     from --config-dir (master: config, apiserver, controller-manager,
//     scheduler; minion: config, kubelet, proxy; standalone: the master's files
//     plus proxy, and only when --config-dir is given). A missing directory or
//     file is fine. Files apply in that order, a later one overriding an
//     earlier one; the command line and the environment win over every file.
//   - File format (ParseEnvFile): NAME="--flag=value ..." lines, '...' or bare
//     values, blank lines and # comments; a value holds any number of
//     arguments separated by white space, as systemd splits $NAME. An unknown
//     flag, a syntax error or a bad value is an error naming the file and line.
//   - Load checks every value (IPs, ports, CIDRs, URLs, enumerations) and
//     fills the derived fields (PortalNet, Machines, MasterURL, Hostname, ...).
//     Errors are one line, name the flag and, if it came from a file, where.
//   - Decisions only: Load does no I/O other than reading the files; the host
//     name, uid and environment come in through System.
package config
