// Package logging owns how kubelite logs: the output format of every role
// (--log-format text or json, --v for debug), the discard logger components
// fall back to when they are handed none, Repeater, which turns an error
// that repeats in a loop into a few warning lines with backoff instead of one
// line per retry, and Throttle, which lets one line of a kind through an
// interval and counts the ones it held back (the API's refusals, etcd's
// warnings while its disk stalls).
//
// Contract:
//   - New returns a fresh *logrus.Logger writing to w; nothing here touches
//     logrus' global logger except SetStandard, which the CLI calls once so
//     third-party code that logs through logrus' package functions gets the
//     same format.
//   - The CLI puts the role's logger in the context (NewContext); the wiring
//     (roles/) takes it back (FromContext) and derives one *logrus.Entry per
//     component, setting its "component" field once; components take that
//     entry through their Config or constructor and never call logrus'
//     package-level functions. A nil entry means Discard: tests stay short
//     and quiet, or capture the lines with Capture.
//   - text: logfmt lines, time first, as RFC 3339 in UTC with milliseconds
//     (2026-12-04T16:54:03.123Z), then level, msg, component and the other
//     fields sorted by name. On a terminal logrus colours the level and puts
//     the time in brackets. json: one object per line with the keys time,
//     level, msg, component and every field.
//   - Repeater is safe for concurrent use; its time comes from a
//     clock.Clock, so tests drive the backoff with clock.Fake.
//   - Throttle is safe for concurrent use and is handed each line's time
//     (no clock of its own); it remembers at most MaxThrottleKeys kinds.
package logging
