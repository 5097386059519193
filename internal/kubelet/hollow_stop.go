package kubelet

// Stop stops the kubelets of the named minions of a running fleet, as if
// their hosts died: their heartbeats and pod status updates end, their
// minion objects and pods stay as they are in the store. Unknown names and
// minions already stopped are ignored; the rest of the fleet runs on.
func (f *Fleet) Stop(names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range names {
		if stop := f.stops[n]; stop != nil {
			stop()
			delete(f.stops, n)
		}
	}
}
