package table

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The pod row, with kube-apiserver's status logic: the phase or the
// pod's reason; an init container that failed or waits shows as
// "Init:<reason>" or "Init:<n>/<m>"; then the last container with a
// waiting or terminated reason (CrashLoopBackOff, Completed, Error,
// ExitCode:<n>, Signal:<n>) gives the status, "Completed" with a
// container still running is Running (or NotReady without the Ready
// condition); a deleted pod not yet finished is "Terminating" ("Unknown"
// when its node is lost). Restarts count the containers' restarts, with
// the age of the last one.

var (
	podSucceeded = []byte(`[{"type":"Completed","status":"True","reason":"Succeeded","message":"The pod has completed successfully."}]`)
	podFailed    = []byte(`[{"type":"Completed","status":"True","reason":"Failed","message":"The pod failed."}]`)
)

// restartableInit reports whether an init container is a sidecar
// (restartPolicy Always).
func restartableInit(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// podCounts is what the container statuses add up to.
type podCounts struct {
	ready, total       int
	restarts           int
	lastRestart        time.Time
	sidecarRestarts    int
	lastSidecarRestart time.Time
	reason             string
	initializing       bool
}

func laterRestart(last *time.Time, st corev1.ContainerStatus) {
	if t := st.LastTerminationState.Terminated; t != nil && last.Before(t.FinishedAt.Time) {
		*last = t.FinishedAt.Time
	}
}

// initStatus walks the init containers: restarts, and the reason while
// initialization has not finished.
func initStatus(p *corev1.Pod, c *podCounts) {
	inits := map[string]*corev1.Container{}
	for i := range p.Spec.InitContainers {
		inits[p.Spec.InitContainers[i].Name] = &p.Spec.InitContainers[i]
		if restartableInit(&p.Spec.InitContainers[i]) {
			c.total++
		}
	}
	for i, st := range p.Status.InitContainerStatuses {
		c.restarts += int(st.RestartCount)
		laterRestart(&c.lastRestart, st)
		sidecar := restartableInit(inits[st.Name])
		if sidecar {
			c.sidecarRestarts += int(st.RestartCount)
			laterRestart(&c.lastSidecarRestart, st)
		}
		switch {
		case st.State.Terminated != nil && st.State.Terminated.ExitCode == 0:
			continue
		case sidecar && st.Started != nil && *st.Started:
			if st.Ready {
				c.ready++
			}
			continue
		case st.State.Terminated != nil:
			c.reason = terminatedReason("Init:", st.State.Terminated)
		case st.State.Waiting != nil && st.State.Waiting.Reason != "" && st.State.Waiting.Reason != "PodInitializing":
			c.reason = "Init:" + st.State.Waiting.Reason
		default:
			c.reason = fmt.Sprintf("Init:%d/%d", i, len(p.Spec.InitContainers))
		}
		c.initializing = true
		break
	}
}

// terminatedReason is a terminated container's reason, or its signal or
// exit code when it gives none.
func terminatedReason(prefix string, t *corev1.ContainerStateTerminated) string {
	switch {
	case t.Reason != "":
		return prefix + t.Reason
	case t.Signal != 0:
		return fmt.Sprintf("%sSignal:%d", prefix, t.Signal)
	}
	return fmt.Sprintf("%sExitCode:%d", prefix, t.ExitCode)
}

// containerStatus walks the containers, last first, once initialized.
func containerStatus(p *corev1.Pod, c *podCounts) {
	c.restarts, c.lastRestart = c.sidecarRestarts, c.lastSidecarRestart
	running := false
	for i := len(p.Status.ContainerStatuses) - 1; i >= 0; i-- {
		st := p.Status.ContainerStatuses[i]
		c.restarts += int(st.RestartCount)
		laterRestart(&c.lastRestart, st)
		switch {
		case st.State.Waiting != nil && st.State.Waiting.Reason != "":
			c.reason = st.State.Waiting.Reason
		case st.State.Terminated != nil:
			c.reason = terminatedReason("", st.State.Terminated)
		case st.Ready && st.State.Running != nil:
			running = true
			c.ready++
		}
	}
	if c.reason == "Completed" && running {
		c.reason = "NotReady"
		if podCondition(p, corev1.PodReady) {
			c.reason = "Running"
		}
	}
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == t && cond.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// podCells computes a pod's row.
func podCells(p *corev1.Pod) ([]cell, []byte) {
	c := podCounts{total: len(p.Spec.Containers), reason: string(p.Status.Phase)}
	if p.Status.Reason != "" {
		c.reason = p.Status.Reason
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Reason == corev1.PodReasonSchedulingGated {
			c.reason = corev1.PodReasonSchedulingGated
		}
	}
	initStatus(p, &c)
	if !c.initializing || podCondition(p, corev1.PodInitialized) {
		containerStatus(p, &c)
	}
	terminal := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	switch {
	case p.DeletionTimestamp != nil && p.Status.Reason == "NodeLost":
		c.reason = "Unknown"
	case p.DeletionTimestamp != nil && !terminal:
		c.reason = "Terminating"
	}
	restarts := str(strconv.Itoa(c.restarts))
	if c.restarts != 0 && !c.lastRestart.IsZero() {
		restarts = cell{before: strconv.Itoa(c.restarts) + " (", since: c.lastRestart, after: " ago)"}
	}
	cells := []cell{str(p.Name), str(fmt.Sprintf("%d/%d", c.ready, c.total)), str(c.reason), restarts,
		age(p.CreationTimestamp.Time)}
	cells = append(cells, podWide(p)...)
	var conds []byte
	switch p.Status.Phase {
	case corev1.PodSucceeded:
		conds = podSucceeded
	case corev1.PodFailed:
		conds = podFailed
	}
	return cells, conds
}

// podWide are the priority-1 cells: IP, node, nominated node, readiness
// gates.
func podWide(p *corev1.Pod) []cell {
	ip := p.Status.PodIP // the v1 field the internal podIPs[0] comes from
	if len(p.Status.PodIPs) > 0 {
		ip = p.Status.PodIPs[0].IP
	}
	ip = orNone(ip)
	gates := "<none>"
	if n := len(p.Spec.ReadinessGates); n > 0 {
		ok := 0
		for _, g := range p.Spec.ReadinessGates {
			for _, cond := range p.Status.Conditions {
				if cond.Type == g.ConditionType {
					if cond.Status == corev1.ConditionTrue {
						ok++
					}
					break
				}
			}
		}
		gates = fmt.Sprintf("%d/%d", ok, n)
	}
	return []cell{str(ip), str(orNone(p.Spec.NodeName)), str(orNone(p.Status.NominatedNodeName)), str(gates)}
}

// orNone is s, or "<none>" when empty.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
