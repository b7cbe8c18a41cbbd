package netlab

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// route turns the path's namespace into the router between the client's
// and the server's subnets, then applies the scenario's rules. newLab has
// given the endpoints their routed addresses.
func (l *lab) route(r *Router) error {
	if err := ipBatch(l.path.name,
		"addr add "+RouterClientIPv4.String()+"/24 dev "+l.pathC,
		"addr add "+RouterServerIPv4.String()+"/24 dev "+l.pathS,
	); err != nil {
		return err
	}
	if err := l.path.sysctl("net.ipv4.ip_forward", "1"); err != nil {
		return err
	}
	if err := ipBatch(l.client.name, "route add default via "+RouterClientIPv4.String()); err != nil {
		return err
	}
	if err := ipBatch(l.server.name, "route add default via "+RouterServerIPv4.String()); err != nil {
		return err
	}
	for _, cmd := range r.Rules {
		if _, err := l.routerExec(r, cmd); err != nil {
			return err
		}
	}
	return nil
}

// routerExec runs one of r's commands in the router's namespace.
func (l *lab) routerExec(r *Router, cmd []string) (string, error) {
	args := r.expand(cmd, l.pathC, l.pathS)
	out, err := exec.Command("ip", append([]string{"netns", "exec", l.path.name}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("netlab: router: %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// counters runs r's counter commands and returns their output, one note
// per line that says something.
func (l *lab) counters(r *Router) []string {
	var notes []string
	for _, cmd := range r.Counters {
		out, err := l.routerExec(r, cmd)
		if err != nil {
			notes = append(notes, err.Error())
			continue
		}
		for _, line := range strings.Split(out, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				notes = append(notes, "router: "+line)
			}
		}
	}
	return notes
}

// routedPoints are a routed run's capture points: the endpoints' veths
// and the router's two interfaces. The path adds no delay.
func (l *lab) routedPoints() []CapturePoint {
	return []CapturePoint{
		{Name: PointClient, Netns: l.client.name, Iface: l.clientIf},
		{Name: PointRouterIn, Netns: l.path.name, Iface: l.pathC},
		{Name: PointRouterOut, Netns: l.path.name, Iface: l.pathS},
		{Name: PointServer, Netns: l.server.name, Iface: l.serverIf},
	}
}

// startPath starts the run's path: the relay, or the router. A routed
// run gets a relay that copies nothing (the router forwards), so that the
// rest of Run treats both alike.
func (l *lab) startPath(sc *Scenario, delay time.Duration) (*relay, error) {
	if sc.Router == nil {
		return startRelay(l, delay, sc.Drops)
	}
	if err := l.route(sc.Router); err != nil {
		return nil, err
	}
	r := &relay{c: -1, s: -1, m: -1, rt: true}
	r.done = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	close(r.done[0])
	close(r.done[1])
	return r, nil
}

// points are the run's capture points.
func (l *lab) points(sc *Scenario, delay time.Duration) []CapturePoint {
	if sc.Router != nil {
		return l.routedPoints()
	}
	return l.capturePoints(delay)
}
