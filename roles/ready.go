package roles

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"kubelite/internal/api"
	ikubectl "kubelite/internal/kubectl"
	"kubelite/internal/store"
)

// readyBanner is standalone's last component: once the local minion is
// Ready it prints one block saying where the API is and what to try next.
type readyBanner struct {
	st     store.Store
	minion string
	apiURL string
	// kubeconfig is the admin kubeconfig ("" with --insecure).
	kubeconfig string
	out        io.Writer
	start      time.Time
	poll       time.Duration
}

func (b *readyBanner) Name() string { return "ready" }

func (b *readyBanner) Run(ctx context.Context, started func()) error {
	started()
	t := time.NewTicker(b.poll)
	defer t.Stop()
	for {
		obj, err := b.st.Get(ctx, api.Minions, "", b.minion)
		if m, ok := obj.(*api.Minion); err == nil && ok && m.Status.Condition == api.MinionReady {
			_, err := io.WriteString(b.out, bannerText(b.apiURL, b.kubeconfig, b.minion, time.Since(b.start)))
			if err != nil {
				return err
			}
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
	<-ctx.Done()
	return nil
}

// bannerText is the block standalone prints when it is ready. kubeconfig
// is the admin kubeconfig, "" for an --insecure API.
func bannerText(apiURL, kubeconfig, minion string, took time.Duration) string {
	kubectl := "kubelite kubectl"
	home, _ := os.UserHomeDir()
	switch {
	case kubeconfig != "" && slices.Contains(ikubectl.DefaultKubeconfigs(home), kubeconfig):
		// kubectl reads this kubeconfig by itself.
	case kubeconfig != "":
		kubectl += " --kubeconfig " + kubeconfig
	case apiURL == "http://127.0.0.1:8080", apiURL == "http://localhost:8080", apiURL == "http://127.0.0.1:8081", apiURL == "http://localhost:8081":
		// kubectl finds these by itself (see kubectl.StandaloneServer).
	default:
		kubectl += " -s " + apiURL
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nkubelite standalone is ready (%.1fs)\n", took.Seconds())
	fmt.Fprintf(&b, "  API:        %s\n", apiURL)
	if kubeconfig != "" {
		fmt.Fprintf(&b, "  kubeconfig: %s (the admin's; works with today's kubectl too)\n", kubeconfig)
	}
	fmt.Fprintf(&b, "  minion:     %s is Ready\n", minion)
	fmt.Fprintf(&b, "Try:\n")
	fmt.Fprintf(&b, "  %s get minions\n", kubectl)
	fmt.Fprintf(&b, "  %s create -f testdata/tutorial/apache-pod.json\n", kubectl)
	fmt.Fprintf(&b, "  %s get pods\n", kubectl)
	fmt.Fprintf(&b, "Ctrl-C stops it; kubelite standalone --reset wipes its state and containers.\n\n")
	return b.String()
}
