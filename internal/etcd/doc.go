// Package etcd starts and stops an embedded etcd server as a
// component.Component, and dials etcd clients (for the embedded server or an
// external cluster given by --etcd_servers).
//
// Embedded: NewEmbedded(Config) returns a component. Its Run starts etcd with
// the data directory <DataDir>/etcd, a client URL on ClientAddr (default
// 127.0.0.1:4001) and a peer URL on PeerAddr (default 127.0.0.1:7001), waits
// until the server is ready (it has a leader and serves requests), calls
// started(), and closes etcd when ctx ends. Run returns the error of a server
// that fails while running.
//
// Damaged data: before etcd starts on an existing data directory, Run checks
// it (CheckDataDir, preflight.go): every database page reachable from its
// buckets, every WAL record, and that the WAL holds every entry the database
// applied. Damage ends Run at once with one *DamagedError line naming the
// file and the way out (restore a snapshot, or remove the member and
// rejoin), instead of a hang or a panic inside etcd.
//
// Space: the embedded server's quota is Config.QuotaBackendBytes (default
// 2 GiB). At the quota etcd raises the NOSPACE alarm and refuses writes
// (store/etcd answers them 507). Run checks for the alarm every
// SpaceCheckInterval (10 s) and recovers with no manual step: compaction to
// the current revision, defragmentation, disarm (RecoverSpace, space.go).
// AlarmCheck(ctx, cli) reports a raised alarm, for a readiness check.
//
// History: the embedded server keeps Config.CompactionRetention revisions
// (100,000) by itself, compacting every SpaceCheckInterval once a tenth of
// the retention more has been written, on the member that leads
// (KeepHistory, compact.go), rather than etcd's own compactor, which looks
// every 5 minutes: a burst would grow the database file (mapped into the
// master's memory) by its whole history first.
//
// Logging: etcd logs through zap; every line is routed to logrus with
// component=etcd. Info lines become debug lines. While the server is being
// closed, and for the "server closed" / "use of closed network connection"
// errors etcd v3.7 logs on every normal Close, error lines become debug lines
// too, so a clean shutdown shows no errors; so does the storage version
// monitor's "missing term information" at a member's first start (etcd tries
// again by itself). Real errors stay errors. Fatal
// lines (etcd exits after them) are logged at fatal level and panic lines at
// error level, never quieted, with the cause in the message. A warning
// with the same message as one logged less than RepeatWindow (10 s) before
// is held back and counted; the next one logged says how many were (a disk
// stalling fsync makes etcd warn thousands of times a minute). Errors are
// never held back.
//
// Clients: NewClient(endpoints, tls) returns a go.etcd.io/etcd/client/v3 client
// (it does not block); WaitReady blocks until the cluster answers a read.
// Embedded.LocalClient returns a client of the embedded server whose KV,
// Watch and Lease calls run in this process, without gRPC or a socket (the
// master's store on its own etcd; local.go says what it does not do).
// Only this package and internal/store/etcd import etcd.
//
// Several masters on one etcd:
//   - Election (election.go) is the leader.Elector on an etcd lease (keys
//     as concurrency.Election's, under /kubelite/leader/): the master
//     holding it runs the scheduler and controllers; see its doc for the
//     margin that keeps two terms from overlapping.
//   - Claims (claims.go) holds one key per portal IP under
//     /kubelite/portalips/, created by compare-and-swap (registry.PortalClaims).
//   - DiagnoseQuorum (quorum.go) says why writes cannot commit (no member
//     answers, no leader: "etcd quorum lost"), for the API's 503s.
//   - LockDataDir (datadir.go) flocks DATA-DIR/kubelite.lock with the PID,
//     so a second process on a data dir in use fails at once naming it.
package etcd
