package table

import (
	"github.com/watchcached/watchcached/api"
)

// builtin are kube-apiserver's printers for the kinds printed here, by
// "<groupVersion>/<Kind>".
var builtin = map[string]func() *Printer{
	"v1/Pod":             func() *Printer { return typed(podColumns, podCells) },
	"v1/Service":         func() *Printer { return typed(serviceColumns, serviceCells) },
	"v1/Node":            func() *Printer { return typed(nodeColumns, nodeCells) },
	"v1/Namespace":       func() *Printer { return typed(namespaceColumns, namespaceCells) },
	"v1/ConfigMap":       func() *Printer { return typed(configMapColumns, configMapCells) },
	"v1/Secret":          func() *Printer { return typed(secretColumns, secretCells) },
	"v1/Event":           func() *Printer { return typed(eventColumns, eventCells) },
	"apps/v1/Deployment": func() *Printer { return typed(deploymentColumns, deploymentCells) },
	"apps/v1/ReplicaSet": func() *Printer { return typed(replicaSetColumns, replicaSetCells) },
	"apps/v1/StatefulSet": func() *Printer {
		return typed(statefulSetColumns, statefulSetCells)
	},
	"apps/v1/DaemonSet": func() *Printer { return typed(daemonSetColumns, daemonSetCells) },
	"batch/v1/Job":      func() *Printer { return typed(jobColumns, jobCells) },
	"batch/v1/CronJob":  func() *Printer { return typed(cronJobColumns, cronJobCells) },
}

// For returns the printer of r: its printerColumns when configured, else
// kube-apiserver's printer of a built-in kind printed here, else the
// default table of a custom resource (NAME, AGE). Each call builds a new
// printer (with its own row cache).
func For(r *api.Resource) (*Printer, error) {
	if len(r.PrinterColumns) > 0 {
		return columnsPrinter(r.PrinterColumns)
	}
	if p, ok := builtin[r.GroupVersion()+"/"+r.Kind]; ok {
		return p(), nil
	}
	return columnsPrinter([]api.PrinterColumn{{Name: "Age", Type: "date", Description: metaDoc["creationTimestamp"],
		JSONPath: ".metadata.creationTimestamp"}})
}
