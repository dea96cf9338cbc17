// promparse reads a Prometheus text exposition on stdin with the Prometheus project's own parser
// (github.com/prometheus/common/expfmt) and prints its families as JSON on stdout: an oracle for
// peerlog's /metrics that shares no code with it. Exit 1, with the parser's error, if it refuses.
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

type bucket struct {
	Le    string `json:"le"`
	Count uint64 `json:"count"`
}

type metric struct {
	Labels  map[string]string `json:"labels"`
	Value   *float64          `json:"value,omitempty"`
	Buckets []bucket          `json:"buckets,omitempty"`
	Sum     *float64          `json:"sum,omitempty"`
	Count   *uint64           `json:"count,omitempty"`
}

type family struct {
	Type    string   `json:"type"`
	Help    string   `json:"help"`
	Metrics []metric `json:"metrics"`
}

// JSON has no NaN or infinities: a value that is one is left out (the test treats that as absent).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func formatLe(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return fmt.Sprintf("%g", v)
}

func main() {
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out := map[string]family{}
	for name, f := range fams {
		fam := family{Type: f.GetType().String(), Help: f.GetHelp(), Metrics: []metric{}}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			x := metric{Labels: labels}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				x.Value = finite(m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				x.Value = finite(m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				x.Value = finite(m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					x.Buckets = append(x.Buckets, bucket{Le: formatLe(b.GetUpperBound()), Count: b.GetCumulativeCount()})
				}
				x.Sum = finite(h.GetSampleSum())
				c := h.GetSampleCount()
				x.Count = &c
			}
			fam.Metrics = append(fam.Metrics, x)
		}
		out[name] = fam
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
