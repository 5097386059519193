// Package roles wires kubelite's components for each role and runs them:
// Master (embedded etcd, apiserver, scheduler, controllers), Minion
// (kubelet, proxy) and Standalone (the master's list followed by the
// minion's list, nothing special).
//
// Contract:
//   - Each role builds a list of internal/component.Component from its typed
//     config (package config) and hands it to component.Runner: started in
//     order, each after the previous is ready; stopped in reverse when ctx
//     ends or one fails. The role returns nil after a clean stop (ctx ended)
//     and the failing component's error otherwise.
//   - This is the only package that chooses implementations (store/etcd on
//     a master, store/remote on a minion, runtime/docker or runtime/fake);
//     components only see interfaces.
//   - Wiring only: no decisions beyond which component gets which
//     dependency. Adding a component is one line in the role's list.
package roles
