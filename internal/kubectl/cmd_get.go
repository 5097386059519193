package kubectl

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

type getFlags struct {
	output, template, selector string
	watch, noHeaders           bool
}

func (g *getFlags) register(f *flagSet) {
	f.String(&g.output, []string{"o", "output"}, "", "output format: json, yaml or template")
	f.String(&g.template, []string{"t", "template"}, "", "Go template over the v1beta1 JSON, e.g. '{{ .id }}' (implies -o template)")
	f.String(&g.selector, []string{"l", "selector"}, "", "label selector, e.g. name=webserver_pod,env!=prod")
	f.Bool(&g.watch, []string{"w", "watch"}, false, "after listing, print changes as they happen")
	f.Bool(&g.noHeaders, []string{"no-headers"}, false, "print tables without the header line")
}

func setupGet(f *flagSet) func(ctx context.Context, e *env, args []string) error {
	var g getFlags
	g.register(f)
	f.usage = "get (pods|rc|services|minions|events|endpoints) [ID...] [-o json|yaml|template] [-t TEMPLATE] [-l SELECTOR] [-w] [--no-headers]"
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) == 0 {
			return errors.New("get: which resource? (pods, replicationControllers, services, minions, events, endpoints)")
		}
		res, err := parseResource(args[0])
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		p, err := newPrinter(g.output, g.template, g.noHeaders)
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		sel, err := api.ParseSelector(g.selector)
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		c, err := e.connect()
		if err != nil {
			return err
		}
		ids := args[1:]
		ns := e.ns(res)
		var rv uint64
		var wt *watchTable
		if tp, ok := p.(tablePrinter); ok && g.watch {
			// The listed objects are the first rows of the event stream.
			wt = newWatchTable(e.Stdout, res, tp.noHeaders)
			p = wt
		}
		if len(ids) > 0 {
			var objs []api.Object
			for _, id := range ids {
				obj, err := c.Get(ctx, res, ns, id)
				if err != nil {
					return fmt.Errorf("get %s %s: %w", res, id, err)
				}
				objs = append(objs, obj)
				if v := obj.Meta().ResourceVersion; v > rv {
					rv = v
				}
			}
			if len(objs) == 1 {
				if err := p.PrintObject(e.Stdout, res, objs[0]); err != nil {
					return err
				}
			} else if err := p.PrintList(e.Stdout, res, objs, 0); err != nil {
				return err
			}
		} else {
			objs, listRV, err := c.List(ctx, res, store.ListOptions{Namespace: ns, Labels: sel})
			if err != nil {
				return fmt.Errorf("list %s: %w", res, err)
			}
			sortObjects(res, objs)
			if err := p.PrintList(e.Stdout, res, objs, listRV); err != nil {
				return err
			}
			rv = listRV
		}
		if !g.watch {
			return nil
		}
		return watchAndPrint(ctx, e, c, res, store.ListOptions{Namespace: ns, Labels: sel, ResourceVersion: rv}, ids, p, wt)
	}
}

// sortObjects orders a list for printing: events by time, the rest by id.
func sortObjects(res api.Resource, objs []api.Object) {
	if res == api.Events {
		sort.SliceStable(objs, func(i, j int) bool {
			return objs[i].(*api.Event).Timestamp.Before(objs[j].(*api.Event).Timestamp)
		})
		return
	}
	sort.SliceStable(objs, func(i, j int) bool { return api.Key(objs[i]) < api.Key(objs[j]) })
}

// watchAndPrint prints every change after opts.ResourceVersion until ctx
// ends, re-watching from the last revision seen when the stream breaks.
// A table gets an EVENT column first (ADDED, MODIFIED, DELETED), its columns
// aligned with the listed rows before it (see watchTable).
func watchAndPrint(ctx context.Context, e *env, c Client, res api.Resource, opts store.ListOptions, ids []string, p printer, wt *watchTable) error {
	for {
		ch, err := c.Watch(ctx, res, opts)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("watch %s: %w", res, err)
		}
		for ev := range ch {
			if ev.Type == store.Error {
				if st, ok := ev.Object.(*api.Status); ok {
					return fmt.Errorf("watch %s: %w", res, &api.StatusError{Status: *st})
				}
				return fmt.Errorf("watch %s: error event", res)
			}
			opts.ResourceVersion = ev.Object.Meta().ResourceVersion
			if len(ids) > 0 && !contains(ids, ev.Object.Meta().ID) {
				continue
			}
			if wt != nil {
				err = wt.Row(string(ev.Type), ev.Object)
			} else {
				err = p.PrintObject(e.Stdout, res, ev.Object)
			}
			if err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}
