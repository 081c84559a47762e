using Worker.Benchmarks.Harness;
using Worker.Benchmarks.Reporting;
using Worker.Contracts;
using static Worker.Benchmarks.Scenarios.Scenarios;

namespace Worker.Benchmarks.Scenarios;

/// <summary>
/// 10. Priorities (issue 14, section 5): a worker at its default concurrency and prefetch, a provider that takes 1 s per
/// call, a backlog of batch requests at priority 2, then interactive requests at priority 9 published a few per second
/// while the batch drains. Measured: the interactive requests' publish-to-result p95. The same run again with every
/// request at the default priority 5 (what a producer that never sets one gets, and a queue without priorities does:
/// first in, first out) is the reference.
/// </summary>
public sealed class Priority : IScenario
{
    public string Name => "priority";

    public string Title => "10. Priorities: interactive requests behind a batch backlog";

    /// <summary>The reference run waits for the whole backlog; at 60 % of the ideal rate, plus the start-ups and publishing.</summary>
    public TimeSpan TimeLimit(Sizes sizes) =>
        TimeSpan.FromSeconds(240 + 2 * sizes.PriorityBatchRequests * (sizes.PriorityLatencyMs / 1000.0) / sizes.PriorityConcurrency / 0.6);

    public async Task RunAsync(BenchContext context, ScenarioResult result, CancellationToken cancellationToken)
    {
        var sizes = context.Sizes;
        var latencyMs = sizes.PriorityLatencyMs;
        result.Settings["batch"] = $"{Number(sizes.PriorityBatchRequests)} requests at priority 2, queued first";
        result.Settings["interactive"] = $"{Number(sizes.PriorityInteractiveRequests)} requests at priority 9, {sizes.PriorityInteractiveRate} per second once the batch is queued";
        result.Settings["reference"] = "the same requests, every one at priority 5";
        result.Settings["simulator latency"] = $"{latencyMs} ms";
        result.Settings["Messaging__ConcurrencyLimit / PrefetchCount"] = $"{sizes.PriorityConcurrency} / {sizes.PriorityConcurrency}";

        var prioritised = await RunAsync(context, "prioritised", batchPriority: 2, interactivePriority: 9, waitForBatch: false, result, cancellationToken);
        var reference = await RunAsync(context, "reference", RequestPriority.Default, RequestPriority.Default, waitForBatch: true, result, cancellationToken);

        result.Check("prioritised: interactive p95 / provider latency", prioritised / latencyMs, "<", 3, "x");
        result.Figure("reference / prioritised interactive p95", reference / prioritised, "x");
        result.Notes.Add("Interactive latency is publish to result at the load generator. A priority queue orders only the messages still in " +
                         "the queue: an interactive request waits for one of the worker's slots (PrefetchCount = ConcurrencyLimit, so none is " +
                         "held in a prefetch buffer) and then for its own call. The prioritised run stops once the interactive results are in " +
                         "(the rest of the batch is purged); the reference run must drain the batch, since its interactive requests come last");
    }

    /// <summary>One run on a fresh worker; returns the interactive p95 in ms.</summary>
    private static async Task<double> RunAsync(BenchContext context, string run, int batchPriority, int interactivePriority, bool waitForBatch,
        ScenarioResult result, CancellationToken cancellationToken)
    {
        var sizes = context.Sizes;
        await context.Broker.PurgeAsync(Broker.WorkerQueue, cancellationToken);
        await context.Simulator.ResetAsync(cancellationToken);
        await context.Simulator.SetFaultsAsync("gemini", new { latencyMs = sizes.PriorityLatencyMs }, cancellationToken);
        var settings = new Dictionary<string, string>
        {
            ["Messaging__ConcurrencyLimit"] = Number(sizes.PriorityConcurrency),
            ["Messaging__PrefetchCount"] = Number(sizes.PriorityConcurrency),
        };
        var log = new RequestLog();
        context.Broker.Current = log;
        var started = Clock.Now;
        await using (var worker = await context.StartWorkerAsync($"priority-{run}", settings, waitUntilConsuming: true, cancellationToken))
        {
            // The backlog first, then the interactive requests a few per second while the worker drains it.
            var pending = new List<Task>(1024);
            for (var i = 0; i < sizes.PriorityBatchRequests; i++)
            {
                var request = Load.NewRequest($"priority-{run}-batch", i) with { Priority = batchPriority };
                log.Add(request.RequestId, "batch", Clock.Now);
                pending.Add(context.Broker.PublishAsync(request, null, cancellationToken));
                if (pending.Count == 1024)
                {
                    await Task.WhenAll(pending);
                    pending.Clear();
                }
            }

            await Task.WhenAll(pending);
            var batchQueuedAt = Clock.Now;
            var interactive = new List<RequestRecord>();
            for (var i = 0; i < sizes.PriorityInteractiveRequests; i++)
            {
                var due = batchQueuedAt + i / (double)sizes.PriorityInteractiveRate;
                if (due > Clock.Now)
                    await Task.Delay(TimeSpan.FromSeconds(due - Clock.Now), cancellationToken);
                var request = Load.NewRequest($"priority-{run}-interactive", i) with { Priority = interactivePriority };
                interactive.Add(log.Add(request.RequestId, "interactive", Clock.Now));
                await context.Broker.PublishAsync(request, null, cancellationToken);
            }

            while (interactive.Any(r => r.ResultAt is null))
                await Task.Delay(200, cancellationToken);
            var interactiveDoneAt = Clock.Now;
            if (waitForBatch)
                await AllResultsAsync(log, TimeSpan.FromSeconds(60 + 3 * sizes.PriorityBatchRequests * (sizes.PriorityLatencyMs / 1000.0) / sizes.PriorityConcurrency), cancellationToken);

            var batch = log.All.Where(r => r.Tag == "batch").ToList();
            var batchDoneBefore = batch.Count(r => r.ResultAt is { } at && at <= interactiveDoneAt);
            var latencies = LatenciesMs(interactive);
            var p95 = Stats.Percentile(latencies, 95);
            result.Figure($"{run}: interactive p50", Stats.Percentile(latencies, 50), "ms");
            result.Figure($"{run}: interactive p95", p95, "ms");
            result.Figure($"{run}: interactive max", latencies.Max(), "ms");
            result.Figure($"{run}: interactive succeeded", Percent(interactive.Count(r => r.Succeeded), interactive.Count), "%");
            result.Figure($"{run}: batch answered before the last interactive result", batchDoneBefore);
            result.Figure($"{run}: batch throughput while measured",
                batchDoneBefore / Math.Max(0.001, interactiveDoneAt - batchQueuedAt), "/s");
            result.Figure($"{run}: seconds", Clock.Now - started, "s");
            context.Broker.Current = null;
            // What is left of the batch is not this scenario's business any more.
            await context.Broker.PurgeAsync(Broker.WorkerQueue, cancellationToken);
            return p95;
        }
    }
}
