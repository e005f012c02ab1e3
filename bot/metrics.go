package bot

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/imagebot/imagebot/bot/queue"
)

// metrics are the Prometheus series imagebot serve exports on /metrics.
type metrics struct {
	reg           *prometheus.Registry
	webhooks      *prometheus.CounterVec
	webhookTime   prometheus.Histogram
	builds        *prometheus.CounterVec
	buildDuration *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imagebot_webhooks_total",
			Help: "Webhook deliveries by forge, event and result (accepted, duplicate, ignored, unauthorized, bad_request, error).",
		}, []string{"forge", "event", "result"}),
		webhookTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "imagebot_webhook_duration_seconds",
			Help:    "Time to verify, store and answer a webhook.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, 1},
		}),
		builds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imagebot_builds_total",
			Help: "Finished builds by image and status (succeeded, failed, cancelled, timed_out, interrupted).",
		}, []string{"image", "status"}),
		buildDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "imagebot_build_duration_seconds",
			Help:    "Build duration from start to end, by image.",
			Buckets: []float64{10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200},
		}, []string{"image"}),
	}
	m.reg.MustRegister(m.webhooks, m.webhookTime, m.builds, m.buildDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) register(q *queue.Queue) {
	m.reg.MustRegister(&depthCollector{q: q, desc: prometheus.NewDesc("imagebot_queue_jobs",
		"Unfinished jobs by queue and state (available, scheduled, retryable, running).", []string{"queue", "state"}, nil)})
}

// depthCollector reads the queue depth from the database at scrape time.
type depthCollector struct {
	q    *queue.Queue
	desc *prometheus.Desc
}

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	depth, err := c.q.Depth(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for k, n := range depth {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}
